# bootstrap - first-boot runtime of the Finnish TTS Launchable.
#
#   make             build/bootstrap (release flavour, Debian's shared libraries)
#   make test        sanitizer flavour (ASan+UBSan) + every unit and integration test
#   make demo        the whole flow against the mock Hub, no GPU or HF account needed
#   make static      fully static musl binary build/static/bootstrap (scripts/static-build.sh)
#   make dist        dist/bootstrap-linux-x86_64 + .sha256 (pinned by launchable/startup.sh)
#   make install     PREFIX=/usr/local DESTDIR=
#   make fuzz | valgrind | analyze | format-check | bench | clean
# Fresh machine: 'bash dev.sh demo' and 'bash dev.sh test' install the packages first.

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
PKGS    := libcurl libarchive libcjson libcrypto
VERSION := $(shell git describe --always --dirty --tags 2>/dev/null || echo 0.1.0)

CSTD    := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN    := -Wall -Wextra -Werror -Wpedantic -Wshadow -Wformat=2 -Wstrict-prototypes \
           -Wmissing-prototypes -Wold-style-definition -Wpointer-arith -Wwrite-strings \
           -Wvla -Wcast-qual -Wundef -Wimplicit-fallthrough -fno-common -Wno-format-truncation
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
DEFS    := -DBS_VERSION='"$(VERSION)"'

REL_CFLAGS  := $(CSTD) $(WARN) -O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong \
               -fstack-clash-protection $(DEFS) $(PKG_CFLAGS) $(CFLAGS)
REL_LDFLAGS := -Wl,-z,relro,-z,now -Wl,--as-needed $(LDFLAGS)
TEST_CFLAGS := $(CSTD) $(WARN) -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
               -fno-omit-frame-pointer -DBS_TESTING $(DEFS) $(PKG_CFLAGS) $(CFLAGS)
TEST_LDFLAGS := -fsanitize=address,undefined $(LDFLAGS)

SRC       := $(sort $(wildcard bootstrap/*.c))
HDR       := $(wildcard bootstrap/*.h)
REL_OBJ   := $(SRC:bootstrap/%.c=build/release/%.o)
TEST_OBJ  := $(SRC:bootstrap/%.c=build/test/%.o)
LIB_TEST_OBJ := $(filter-out build/test/main.o,$(TEST_OBJ))
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=build/test/unit/%)

.PHONY: all test test-build unit demo install uninstall clean static dist test-static fuzz \
        valgrind analyze format format-check bench deps print-%

all: build/bootstrap

ifeq ($(V),1)
Q :=
SAY := @true
else
Q := @
SAY := @printf '  %-6s %s\n'
endif

build/release/%.o: bootstrap/%.c $(HDR) | build/release
	$(SAY) CC $@
	$(Q)$(CC) $(REL_CFLAGS) -c $< -o $@

build/test/%.o: bootstrap/%.c $(HDR) | build/test
	$(SAY) CC $@
	$(Q)$(CC) $(TEST_CFLAGS) -c $< -o $@

build/bootstrap: $(REL_OBJ)
	$(SAY) LINK $@
	$(Q)$(CC) $(REL_CFLAGS) -o $@ $^ $(REL_LDFLAGS) $(PKG_LIBS)

build/test/bootstrap: $(TEST_OBJ)
	$(SAY) LINK $@
	$(Q)$(CC) $(TEST_CFLAGS) -o $@ $^ $(TEST_LDFLAGS) $(PKG_LIBS)

build/test/unit/%: tests/unit/%.c tests/unit/check.h $(LIB_TEST_OBJ) | build/test/unit
	$(SAY) LINK $@
	$(Q)$(CC) $(TEST_CFLAGS) -Ibootstrap -Itests/unit -o $@ $< $(LIB_TEST_OBJ) $(TEST_LDFLAGS) $(PKG_LIBS)

build/release build/test build/test/unit:
	mkdir -p $@

test-build: build/test/bootstrap $(UNIT_BIN)

unit: $(UNIT_BIN)
	@for t in $(UNIT_BIN); do $$t || exit 1; done

# The one test command (README, .ci/run): sanitizer build, the static release binary (its
# integration tests 8xx run against it; dependencies are cached outside the tree, so this
# costs seconds after the first build), then every test.
test: test-build build/bootstrap static
	tests/run.sh

demo: build/bootstrap
	scripts/demo.sh

install: build/bootstrap
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/bootstrap
	install -m 0755 build/bootstrap $(DESTDIR)$(PREFIX)/bin/bootstrap
	install -d $(DESTDIR)$(PREFIX)/share/bootstrap/fish-speech-patches $(DESTDIR)$(PREFIX)/share/doc/bootstrap
	install -m 0644 docs/*.md $(DESTDIR)$(PREFIX)/share/doc/bootstrap/
	install -m 0644 launchable/launchable.json launchable/bootstrap.service launchable/train_guard.py \
		launchable/fish-speech-requirements.txt $(DESTDIR)$(PREFIX)/share/bootstrap/
	install -m 0644 launchable/fish-speech-patches/*.patch $(DESTDIR)$(PREFIX)/share/bootstrap/fish-speech-patches/
	install -m 0755 launchable/train_finnish.sh launchable/prepare_data.py launchable/fi_normalize.py \
		launchable/train_gpus.py launchable/demo_entrypoint.sh $(DESTDIR)$(PREFIX)/share/bootstrap/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/bootstrap
	rm -rf $(DESTDIR)$(PREFIX)/share/bootstrap $(DESTDIR)$(PREFIX)/share/doc/bootstrap

static:
	scripts/static-build.sh

dist:
	scripts/static-build.sh --dist

test-static: static
	BOOTSTRAP=build/static/bootstrap tests/run.sh --integration

fuzz:
	scripts/fuzz.sh

valgrind: build/bootstrap
	VALGRIND=1 BOOTSTRAP=build/bootstrap tests/run.sh --integration

analyze:
	$(CC) $(CSTD) $(PKG_CFLAGS) -fanalyzer -fsyntax-only $(SRC)

format:
	clang-format -i bootstrap/*.c bootstrap/*.h tests/unit/*.c tests/unit/*.h

format-check:
	clang-format --dry-run --Werror bootstrap/*.c bootstrap/*.h tests/unit/*.c tests/unit/*.h

bench: build/bootstrap
	bench/run.sh

deps:
	scripts/install-deps.sh

clean:
	rm -rf build dist

print-%:
	@echo $($*)
