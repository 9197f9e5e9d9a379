# tests/fuzz/fuzz.mk - builds the fuzz harnesses (run from the repository root).
#
#   make -f tests/fuzz/fuzz.mk fuzzers   build/fuzz/fuzz_<name>          clang + libFuzzer + ASan/UBSan
#   make -f tests/fuzz/fuzz.mk replay    build/fuzz/replay/fuzz_<name>   REPLAY_CC (default cc) +
#                                        ASan/UBSan + tests/fuzz/driver.c (no libFuzzer needed)
#   make -f tests/fuzz/fuzz.mk list      the harness names
#
# Every harness links all bootstrap/*.c except main.c, compiled with -DBS_TESTING -DBS_FUZZING
# in a folder of its own (build/fuzz/obj, build/fuzz/replay/obj): nothing here touches the
# release or test objects of the main Makefile. Warnings are shown but never fatal here: a
# clang-only warning in a module must not stop the fuzzing of the others.

FUZZ_CC   ?= clang
REPLAY_CC ?= cc
PKGS      := libcurl libarchive libcjson libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CSTD  := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN  := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
         -Wpointer-arith -Wvla -Wcast-qual -Wno-format-nonliteral
DEFS  := -DBS_TESTING -DBS_FUZZING -DBS_VERSION='"fuzz"'
SAN   := -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all -fno-omit-frame-pointer
INC   := -Ibootstrap -Itests/fuzz

FUZZ_CFLAGS   := $(CSTD) $(WARN) -O1 -g $(SAN) -fsanitize=fuzzer-no-link $(DEFS) $(PKG_CFLAGS) $(INC)
FUZZ_LDFLAGS  := $(SAN) -fsanitize=fuzzer
# gcc warns about snprintf truncation that the modules check on purpose (as the Makefile does)
REPLAY_WARN   := $(WARN) $(shell $(REPLAY_CC) --version 2>/dev/null | grep -q clang || echo -Wno-format-truncation)
REPLAY_CFLAGS := $(CSTD) $(REPLAY_WARN) -O1 -g $(SAN) $(DEFS) $(PKG_CFLAGS) $(INC)
REPLAY_LDFLAGS := $(SAN)

SRC      := $(filter-out bootstrap/main.c,$(sort $(wildcard bootstrap/*.c)))
HDR      := $(wildcard bootstrap/*.h) tests/fuzz/fuzz.h tests/fuzz/fuzz.mk
HARN_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
NAMES    := $(HARN_SRC:tests/fuzz/fuzz_%.c=%)

FUZZ_OBJ   := $(SRC:bootstrap/%.c=build/fuzz/obj/%.o)
REPLAY_OBJ := $(SRC:bootstrap/%.c=build/fuzz/replay/obj/%.o)
FUZZ_BIN   := $(NAMES:%=build/fuzz/fuzz_%)
REPLAY_BIN := $(NAMES:%=build/fuzz/replay/fuzz_%)

.PHONY: fuzzers replay list
.DELETE_ON_ERROR:
.SECONDARY:

fuzzers: $(FUZZ_BIN)
replay: $(REPLAY_BIN)
list:
	@echo $(NAMES)

build/fuzz/obj build/fuzz/replay/obj:
	@mkdir -p $@

build/fuzz/obj/%.o: bootstrap/%.c $(HDR) | build/fuzz/obj
	@printf '  %-6s %s\n' CC $@
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

build/fuzz/replay/obj/%.o: bootstrap/%.c $(HDR) | build/fuzz/replay/obj
	@printf '  %-6s %s\n' CC $@
	@$(REPLAY_CC) $(REPLAY_CFLAGS) -c $< -o $@

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJ) $(HDR)
	@printf '  %-6s %s\n' LINK $@
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_OBJ) $(FUZZ_LDFLAGS) $(PKG_LIBS)

build/fuzz/replay/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/driver.c $(REPLAY_OBJ) $(HDR)
	@printf '  %-6s %s\n' LINK $@
	@$(REPLAY_CC) $(REPLAY_CFLAGS) -o $@ $< tests/fuzz/driver.c $(REPLAY_OBJ) $(REPLAY_LDFLAGS) $(PKG_LIBS)
