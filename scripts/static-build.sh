#!/bin/bash
# Build the fully static release binary build/static/bootstrap (musl, "route A" of
# docs/static-build.md): every dependency is built from a pinned Debian bookworm *source*
# package (upstream + Debian's security patches) with musl-gcc, cached per dependency outside
# the work tree, then bootstrap/*.c is compiled and linked with -static.
#
#   scripts/static-build.sh                  deps (cached) + app -> build/static/bootstrap
#   scripts/static-build.sh --deps-only      only build/restore the dependency cache
#   scripts/static-build.sh --dist           also write dist/bootstrap-linux-x86_64{,.sha256}
#   scripts/static-build.sh --print-versions print the pinned dependency versions and exit
#   scripts/static-build.sh --print-cache    print the cache directory and exit
#   scripts/static-build.sh --check-cache    exit 0 when every dependency is cached, else 1
#
# Environment:
#   BOOTSTRAP_DEPS_CACHE  cache dir (default ${XDG_CACHE_HOME:-$HOME/.cache}/bootstrap-static)
#   BOOTSTRAP_VERSION     version string of the app (default: git describe --always --dirty --tags)
#   SOURCE_DATE_EPOCH     timestamp for the app build (default: last commit time, else 0)
#   BOOTSTRAP_PIN_<NAME>  override one pin, e.g. BOOTSTRAP_PIN_OPENSSL=3.0.22-1~deb12u2
#   JOBS                  parallel make jobs (default nproc)
#
# It must not touch anything in the work tree except build/static/ and dist/, and it never
# writes a .done marker for a dependency whose recipe did not finish (pitfall 7 of the recipe:
# every recipe runs in "( set -e; ... )" outside any conditional).
# recipes are called indirectly ("recipe_$n")
# shellcheck disable=SC2317
set -euo pipefail
export LC_ALL=C TZ=UTC
# The whole script is one { } block, so bash parses it completely before running it and an
# edit of this file during a long build cannot derail the running build.
{

REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${BOOTSTRAP_DEPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bootstrap-static}
JOBS=${JOBS:-$(nproc)}
OUTDIR=$REPO/build/static
DISTDIR=$REPO/dist

MODE=build
DIST=0
for arg in "$@"; do
    case $arg in
    --deps-only) MODE=deps ;;
    --dist) DIST=1 ;;
    --print-versions) MODE=versions ;;
    --print-cache) MODE=cache ;;
    --check-cache) MODE=check ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "static-build: unknown option '$arg' (see --help)" >&2; exit 2 ;;
    esac
done

# ------------------------------------------------------------------ pins
# name -> Debian source package, and the pinned bookworm / bookworm-security version.
# Pins are the newest versions whose source actually downloads from deb.debian.org (checked
# with apt-get source --download-only when the pins were set): openssl 3.0.22-1~deb12u2 and libzstd
# 1.5.4+dfsg2-5+deb12u1 are listed by apt-cache showsrc but their .dsc/.debian.tar answer 404,
# so we stay on 3.0.20-1~deb12u2 and 1.5.4+dfsg2-5 (see docs/static-build.md).
NAMES=(zlib bzip2 xz zstd openssl nghttp2 cares curl libarchive cjson)
declare -A SRC=([zlib]=zlib [bzip2]=bzip2 [xz]=xz-utils [zstd]=libzstd [openssl]=openssl
    [nghttp2]=nghttp2 [cares]=c-ares [curl]=curl [libarchive]=libarchive [cjson]=cjson)
declare -A VER=([zlib]=1:1.2.13.dfsg-1 [bzip2]=1.0.8-5 [xz]=5.4.1-1+deb12u2 [zstd]=1.5.4+dfsg2-5
    [openssl]=3.0.20-1~deb12u2 [nghttp2]=1.52.0-1+deb12u3 [cares]=1.18.1-3
    [curl]=7.88.1-10+deb12u15 [libarchive]=3.6.2-1+deb12u5 [cjson]=1.7.15-1+deb12u4)
for n in "${NAMES[@]}"; do
    v=BOOTSTRAP_PIN_${n^^}
    if [ -n "${!v:-}" ]; then VER[$n]=${!v}; fi
done
# what each dependency links against (its cache key includes theirs)
declare -A DEPS=([curl]="openssl zlib nghttp2 cares" [libarchive]="zlib bzip2 xz zstd")

if [ "$MODE" = versions ]; then
    for n in "${NAMES[@]}"; do printf '%-11s %-11s %s\n' "$n" "${SRC[$n]}" "${VER[$n]}"; done
    exit 0
fi
if [ "$MODE" = cache ]; then
    echo "$CACHE"
    exit 0
fi

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
die() {
    echo "static-build: $*" >&2
    exit 1
}
T0=$(now)

# ------------------------------------------------------------------ toolchain
need_tools() {
    local t
    for t in musl-gcc dpkg-source cmake autoreconf libtoolize perl pkg-config make ar strip; do
        command -v "$t" >/dev/null || return 1
    done
    [ -d /usr/include/linux ] && [ -d /usr/include/x86_64-linux-gnu/asm ]
}
if ! need_tools; then
    echo "static-build: installing the static toolchain (scripts/install-deps.sh --static)" >&2
    "$REPO/scripts/install-deps.sh" --static
    need_tools || die "musl-gcc, dpkg-dev, cmake, autoconf/automake/libtool, perl, pkg-config or linux-libc-dev still missing"
fi
pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown; }
# Everything that changes the produced code is part of every cache key.  linux-libc-dev only
# matters to OpenSSL (it is added to its key alone, so a kernel-header update does not rebuild
# the world).
TOOLCHAIN_ID="$(gcc -dumpfullversion) musl-$(pkgver musl-dev) binutils-$(pkgver binutils)"
TOOLCHAIN_ID+=" cmake-$(pkgver cmake) autoconf-$(pkgver autoconf) automake-$(pkgver automake)"
TOOLCHAIN_ID+=" libtool-$(pkgver libtool) perl-$(pkgver perl-base)"

export CC=musl-gcc AR=ar RANLIB=ranlib
BASE_CFLAGS="-O2 -pipe -ffunction-sections -fdata-sections"

# ------------------------------------------------------------------ sources
ensure_debsrc() {
    if [ -n "$(apt-cache showsrc zlib 2>/dev/null | head -1)" ]; then
        return 0
    fi
    local sudo=() list=/etc/apt/sources.list.d/bootstrap-static-src.sources tmp
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "deb-src entries are missing and there is no root/sudo to add them"
        sudo=(sudo)
    fi
    echo "static-build: enabling deb-src entries in $list" >&2
    tmp=$(mktemp)
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        sed -e 's/^Types:.*$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >"$tmp"
    elif grep -qs '^deb ' /etc/apt/sources.list; then
        list=/etc/apt/sources.list.d/bootstrap-static-src.list
        sed -n -e 's/^deb /deb-src /p' /etc/apt/sources.list >"$tmp"
    else
        printf '%s\n' 'Types: deb-src' 'URIs: http://deb.debian.org/debian' \
            'Suites: bookworm bookworm-updates' 'Components: main' \
            'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' '' \
            'Types: deb-src' 'URIs: http://deb.debian.org/debian-security' \
            'Suites: bookworm-security' 'Components: main' \
            'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' >"$tmp"
    fi
    "${sudo[@]}" install -m644 "$tmp" "$list"
    rm -f "$tmp"
    "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
    [ -n "$(apt-cache showsrc zlib 2>/dev/null | head -1)" ] || die "apt-cache showsrc still finds no sources after adding $list"
}

# fetch NAME: download the pinned source once into $CACHE/src/<src>_<ver>/ (kept: it is the
# exact input set of the build), print the .dsc path
fetch() {
    local n=$1 src=${SRC[$1]} ver=${VER[$1]}
    local d=$CACHE/src/${src}_${ver//[:~]/_}
    local dsc=$d/${src}_${ver#*:}.dsc
    if [ ! -f "$d/.done" ]; then
        ensure_debsrc
        rm -rf "$d"
        mkdir -p "$d"
        if ! (cd "$d" && apt-get source --download-only -qq "$src=$ver" >&2); then
            echo "static-build: cannot download source $src=$ver; versions known to apt:" >&2
            apt-cache showsrc "$src" | awk '/^Version:/ { print "   " $2 }' >&2
            die "pick one with BOOTSTRAP_PIN_${n^^}=VERSION (and record it in docs/static-build.md)"
        fi
        [ -f "$dsc" ] || die "$dsc missing after download"
        touch "$d/.done"
    fi
    echo "$dsc"
}

# ------------------------------------------------------------------ recipes
# Each recipe runs inside the unpacked source directory with PREFIX set and DEP_* describing
# the prefixes of its dependencies.  They must only write below "." and $PREFIX.
cmake_musl() {
    # CMake may only see our dependency prefixes, never glibc's /usr/include or /usr/lib
    PKG_CONFIG_LIBDIR=$DEP_PKGLIBDIR cmake -S . -B _build -G "Unix Makefiles" \
        -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=musl-gcc -DCMAKE_C_FLAGS="$CFLAGS" \
        -DCMAKE_INSTALL_PREFIX="$PREFIX" -DCMAKE_INSTALL_LIBDIR=lib \
        -DCMAKE_FIND_ROOT_PATH="${DEP_ROOTS:-/nonexistent}" \
        -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY -DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY \
        -DCMAKE_FIND_ROOT_PATH_MODE_PACKAGE=ONLY -DCMAKE_FIND_ROOT_PATH_MODE_PROGRAM=NEVER "$@"
}
recipe_zlib() {
    ./configure --static --prefix="$PREFIX"
    make -j"$JOBS" libz.a
    make install
}
recipe_bzip2() {
    make -j"$JOBS" libbz2.a CC="$CC" CFLAGS="$CFLAGS -D_FILE_OFFSET_BITS=64"
    install -D -m644 libbz2.a "$PREFIX/lib/libbz2.a"
    install -D -m644 bzlib.h "$PREFIX/include/bzlib.h"
}
recipe_xz() {
    ./configure --prefix="$PREFIX" --disable-shared --enable-static --disable-xz --disable-xzdec \
        --disable-lzmadec --disable-lzmainfo --disable-lzma-links --disable-scripts --disable-doc \
        --disable-nls
    make -j"$JOBS" -C src/liblzma
    make -C src/liblzma install
}
recipe_zstd() {
    make -j"$JOBS" -C lib libzstd.a-mt CC="$CC" CFLAGS="$CFLAGS"
    make -C lib install-static install-includes install-pc PREFIX="$PREFIX" CC="$CC"
}
recipe_openssl() {
    # musl-gcc sees no kernel headers and OpenSSL needs <linux/mman.h> & co: expose only
    # linux/, asm/, asm-generic/ of linux-libc-dev, searched after musl's own headers.
    mkdir -p kheaders
    ln -sfn /usr/include/linux kheaders/linux
    ln -sfn /usr/include/asm-generic kheaders/asm-generic
    ln -sfn /usr/include/x86_64-linux-gnu/asm kheaders/asm
    # OpenSSL bakes its "built on" date, --prefix (ENGINESDIR/MODULESDIR) and its CFLAGS into
    # libcrypto: take the date from debian/changelog, use a fixed fake prefix and a relative
    # include dir, install into a stage and copy.  no-dso: never dlopen anything.
    # --openssldir=/etc/ssl only matters to OpenSSL's own default verify paths, which we do
    # not use (the app always sets CURLOPT_CAINFO/CAPATH from ca_find()).
    SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -STimestamp)
    export SOURCE_DATE_EPOCH
    CFLAGS="$BASE_CFLAGS -idirafter kheaders" \
        ./Configure linux-x86_64 no-shared no-dso no-engine no-tests no-afalgeng no-comp \
        no-async --prefix=/opt/bootstrap-openssl --libdir=lib --openssldir=/etc/ssl
    make -j"$JOBS" build_libs
    make install_dev DESTDIR="$PWD/_stage"
    cp -a _stage/opt/bootstrap-openssl/. "$PREFIX/"
    sed -i "s|^prefix=.*|prefix=$PREFIX|" "$PREFIX"/lib/pkgconfig/*.pc
}
recipe_nghttp2() {
    cmake_musl -DENABLE_LIB_ONLY=ON -DENABLE_STATIC_LIB=ON -DENABLE_SHARED_LIB=OFF -DENABLE_DOC=OFF
    cmake --build _build -j"$JOBS"
    cmake --install _build
}
recipe_cares() {
    cmake_musl -DCARES_STATIC=ON -DCARES_SHARED=OFF -DCARES_BUILD_TOOLS=OFF -DCARES_BUILD_TESTS=OFF
    cmake --build _build -j"$JOBS"
    cmake --install _build
}
recipe_curl() {
    # Debian's last two patches rename the library to libcurl-gnutls/-nss and edit
    # configure.ac; drop them as debian/rules does for the OpenSSL flavour, then regenerate.
    patch -R -p1 <debian/patches/99_nss.patch
    patch -R -p1 <debian/patches/90_gnutls.patch
    autoreconf -fi
    # HTTP(S) only; no CA default compiled in (--without-ca-*; no --with-ca-fallback): the
    # app sets the CA explicitly or fails closed.  c-ares resolves names by itself from
    # /etc/hosts + /etc/resolv.conf (musl's getaddrinfo has quirks, see the docs).
    PKG_CONFIG_LIBDIR=$DEP_PKGLIBDIR CPPFLAGS="$DEP_CPPFLAGS" LDFLAGS="$DEP_LDFLAGS" \
        ./configure --prefix="$PREFIX" --disable-shared --enable-static \
        --disable-dependency-tracking \
        --with-openssl="${P[openssl]}" --disable-openssl-auto-load-config \
        --with-nghttp2="${P[nghttp2]}" --with-zlib="${P[zlib]}" \
        --enable-ares="${P[cares]}" --disable-threaded-resolver \
        --disable-ldap --disable-ldaps --disable-rtsp --disable-dict --disable-telnet \
        --disable-tftp --disable-pop3 --disable-imap --disable-smtp --disable-smb \
        --disable-gopher --disable-mqtt --disable-ftp --disable-file --disable-ntlm-wb \
        --disable-manual --disable-netrc \
        --without-libpsl --without-libidn2 --without-librtmp --without-libssh2 --without-libssh \
        --without-brotli --without-zstd --without-libgsasl --without-gssapi --without-hyper \
        --without-ca-bundle --without-ca-path
    grep -E '^#define (USE_OPENSSL|USE_NGHTTP2|USE_ARES|HAVE_LIBZ) 1' lib/curl_config.h
    test "$(grep -cE '^#define (USE_OPENSSL|USE_NGHTTP2|USE_ARES|HAVE_LIBZ) 1' lib/curl_config.h)" = 4
    test "$(grep -cE '^#define CURL_CA_(BUNDLE|PATH) ' lib/curl_config.h)" = 0
    make -j"$JOBS" -C lib
    make -C lib install
    make -C include install
    make install-pkgconfigDATA
}
recipe_libarchive() {
    # POSIX_REGEX_LIB=NONE: libarchive 3.6.2's CMake otherwise ends in "libgcc not found"
    # (regex is only used by bsdtar -s, which we do not build)
    cmake_musl -DENABLE_OPENSSL=OFF -DENABLE_MBEDTLS=OFF -DENABLE_NETTLE=OFF -DENABLE_LIBB2=OFF \
        -DENABLE_LZ4=OFF -DENABLE_LZO=OFF -DENABLE_LIBXML2=OFF -DENABLE_EXPAT=OFF \
        -DENABLE_PCREPOSIX=OFF -DENABLE_LIBGCC=OFF -DENABLE_CNG=OFF -DENABLE_XATTR=OFF \
        -DENABLE_ACL=OFF -DENABLE_ICONV=OFF -DPOSIX_REGEX_LIB=NONE -DENABLE_TAR=OFF \
        -DENABLE_CPIO=OFF -DENABLE_CAT=OFF -DENABLE_TEST=OFF -DENABLE_WERROR=OFF \
        -DENABLE_ZLIB=ON -DENABLE_BZip2=ON -DENABLE_LZMA=ON -DENABLE_ZSTD=ON
    grep -E '#define HAVE_(ZLIB_H|BZLIB_H|LZMA_H|ZSTD_H) 1' _build/config.h
    test "$(grep -cE '#define HAVE_(ZLIB_H|BZLIB_H|LZMA_H|ZSTD_H) 1' _build/config.h)" = 4
    cmake --build _build -j"$JOBS" --target archive_static
    install -D -m644 _build/libarchive/libarchive.a "$PREFIX/lib/libarchive.a"
    install -D -m644 libarchive/archive.h "$PREFIX/include/archive.h"
    install -D -m644 libarchive/archive_entry.h "$PREFIX/include/archive_entry.h"
}
recipe_cjson() {
    # shellcheck disable=SC2086
    $CC $CFLAGS -std=c89 -c cJSON.c -o cJSON.o
    $AR rcs libcjson.a cJSON.o
    # both spellings work: <cjson/cJSON.h> and, with -I.../include/cjson, <cJSON.h>
    install -D -m644 cJSON.h "$PREFIX/include/cjson/cJSON.h"
    install -D -m644 libcjson.a "$PREFIX/lib/libcjson.a"
}

# ------------------------------------------------------------------ cache + build driver
declare -A P=() # name -> installed prefix in the cache

dep_flags() { # sets DEP_CPPFLAGS DEP_LDFLAGS DEP_PKGLIBDIR DEP_ROOTS for the given names
    local d
    DEP_CPPFLAGS='' DEP_LDFLAGS='' DEP_PKGLIBDIR='' DEP_ROOTS=
    for d in "$@"; do
        DEP_CPPFLAGS+=" -I${P[$d]}/include"
        DEP_LDFLAGS+=" -L${P[$d]}/lib"
        DEP_PKGLIBDIR+="${P[$d]}/lib/pkgconfig:"
        DEP_ROOTS+="${P[$d]};"
    done
    DEP_PKGLIBDIR=${DEP_PKGLIBDIR%:} DEP_ROOTS=${DEP_ROOTS%;}
}

# key NAME: version + recipe text + flags + toolchain + keys of its dependencies.  The cache
# path itself is not part of it, so a cache restored elsewhere still hits.
key_of() {
    local n=$1 d
    {
        echo "${SRC[$n]} ${VER[$n]}"
        declare -f "recipe_$n" cmake_musl dep_flags
        echo "$BASE_CFLAGS|$TOOLCHAIN_ID"
        if [ "$n" = openssl ]; then echo "linux-libc-dev $(pkgver linux-libc-dev)"; fi
        for d in ${DEPS[$n]:-}; do basename "${P[$d]}"; done
    } | sha256sum | cut -c1-16
}

build_dep() {
    local n=$1 key prefix work log dsc t1 rc
    prefix=${P[$n]}
    key=${prefix##*-}
    if [ -f "$prefix/.done" ]; then
        echo "== $n ${VER[$n]}: cached"
        return 0
    fi
    echo "== $n ${VER[$n]}: building (key $key)"
    t1=$(now)
    dsc=$(fetch "$n")
    work=$CACHE/work/$n-$key
    log=$CACHE/logs/$n-$key.log
    rm -rf "$work" "$prefix" "$log.unpack"
    mkdir -p "$prefix" "$work"
    dpkg-source -x "$dsc" "$work/src" >"$log.unpack" 2>&1 || {
        cat "$log.unpack" >&2
        die "dpkg-source -x $dsc failed"
    }
    # shellcheck disable=SC2086
    dep_flags ${DEPS[$n]:-}
    # -ffile-prefix-map: the work dir never shows up in the objects (assert/__FILE__)
    set +e
    (
        set -e
        cd "$work/src"
        export PREFIX=$prefix DEP_CPPFLAGS DEP_LDFLAGS DEP_PKGLIBDIR DEP_ROOTS
        export CFLAGS="$BASE_CFLAGS -ffile-prefix-map=$work/src=/build/$n"
        "recipe_$n"
    ) >"$log" 2>&1
    rc=$?
    set -e
    if [ "$rc" -ne 0 ] || ! compgen -G "$prefix/lib/*.a" >/dev/null; then
        echo "!! $n failed (rc=$rc); log: $log" >&2
        grep -iE 'error|undefined reference' "$log" | head -20 >&2 || true
        tail -n 15 "$log" >&2
        exit 1
    fi
    {
        echo "source ${SRC[$n]}=${VER[$n]}"
        echo "key $key"
        echo "toolchain $TOOLCHAIN_ID"
        echo "seconds $(elapsed "$t1")"
    } >"$prefix/BUILDINFO"
    touch "$prefix/.done"
    rm -rf "$work"
    echo "   $n built in $(elapsed "$t1") s"
}

# every prefix is known before anything is built (a key depends on its deps' keys only)
missing=0
for n in "${NAMES[@]}"; do
    P[$n]=$CACHE/$n-${VER[$n]//[:~+]/_}-$(key_of "$n")
    if [ ! -f "${P[$n]}/.done" ]; then missing=$((missing + 1)); fi
done
if [ "$MODE" = check ]; then
    echo "$missing of ${#NAMES[@]} dependencies missing in $CACHE"
    [ "$missing" -eq 0 ]
    exit
fi

mkdir -p "$CACHE/src" "$CACHE/work" "$CACHE/logs"
# two builds sharing one cache (parallel `make static`, CI jobs) must not race
exec 9>"$CACHE/.lock"
flock 9
for n in "${NAMES[@]}"; do
    build_dep "$n"
done
echo "== dependencies ready after $(elapsed "$T0") s (cache: $CACHE)"
if [ "$MODE" = deps ]; then
    exit 0
fi

# ------------------------------------------------------------------ the application
t1=$(now)
cd "$REPO"
mapfile -t APP_SRCS < <(find bootstrap -maxdepth 1 -name '*.c' | sort)
[ "${#APP_SRCS[@]}" -gt 0 ] || die "no bootstrap/*.c sources"

WARN=
if WARN_OUT=$(make -s --no-print-directory print-WARN 2>/dev/null) && [ -n "$WARN_OUT" ]; then
    WARN=$(printf '%s\n' "$WARN_OUT" | sed -e 's/^WARN *[:?]\{0,1\}= *//')
fi
WARN=${WARN:-"-Wall -Wextra -Werror"}

# same string as the Makefile's VERSION, so `make` and `make static` agree
VERSION=${BOOTSTRAP_VERSION:-$(git describe --always --dirty --tags 2>/dev/null || true)}
VERSION=${VERSION:-0.1.0}
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || true)
    SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-0}
fi
export SOURCE_DATE_EPOCH

dep_flags curl openssl nghttp2 cares zlib libarchive bzip2 xz zstd cjson
CURL_LIBS=$(PKG_CONFIG_LIBDIR=$DEP_PKGLIBDIR pkg-config --static --libs libcurl)

# No path of this machine may reach the binary: the repo becomes ".", the cache "/deps".
CFLAGS_APP=(-std=c11 -O2 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DBS_STATIC_BUILD
    "-DBS_VERSION=\"$VERSION\"" -DCURL_STATICLIB -DCARES_STATICLIB
    -fstack-protector-strong -fstack-clash-protection -ffunction-sections -fdata-sections
    "-ffile-prefix-map=$REPO=." "-ffile-prefix-map=$CACHE=/deps" -Ibootstrap)
# shellcheck disable=SC2206
CFLAGS_APP+=($WARN)
# shellcheck disable=SC2206
CFLAGS_APP+=($DEP_CPPFLAGS "-I${P[cjson]}/include/cjson")

OBJDIR=$OUTDIR/obj
rm -rf "$OBJDIR"
mkdir -p "$OBJDIR"
# compile JOBS files at a time; the link order below stays the sorted one
OBJS=() PIDS=() CC_FAILED=0
for s in "${APP_SRCS[@]}"; do
    o=$OBJDIR/$(basename "${s%.c}").o
    musl-gcc "${CFLAGS_APP[@]}" -c "$s" -o "$o" &
    PIDS+=($!)
    OBJS+=("$o")
    if [ "${#PIDS[@]}" -ge "$JOBS" ]; then
        wait "${PIDS[0]}" || CC_FAILED=1
        PIDS=("${PIDS[@]:1}")
    fi
done
for p in "${PIDS[@]}"; do
    wait "$p" || CC_FAILED=1
done
[ "$CC_FAILED" -eq 0 ] || die "compiling bootstrap/*.c failed (errors above)"
# shellcheck disable=SC2086
musl-gcc -static -o "$OUTDIR/bootstrap.debug" "${OBJS[@]}" $DEP_LDFLAGS \
    -Wl,--gc-sections -Wl,-z,relro,-z,now -Wl,-z,noexecstack \
    $CURL_LIBS -larchive -lzstd -llzma -lbz2 -lz -lcjson
strip --strip-all -o "$OUTDIR/bootstrap.tmp" "$OUTDIR/bootstrap.debug"
mv -f "$OUTDIR/bootstrap.tmp" "$OUTDIR/bootstrap"

SHA=$(sha256sum "$OUTDIR/bootstrap" | cut -d' ' -f1)
{
    echo "version $VERSION"
    echo "sha256 $SHA"
    echo "size $(stat -c %s "$OUTDIR/bootstrap")"
    echo "source_date_epoch $SOURCE_DATE_EPOCH"
    echo "toolchain $TOOLCHAIN_ID"
    for n in "${NAMES[@]}"; do echo "dep $n ${SRC[$n]}=${VER[$n]} $(basename "${P[$n]}")"; done
} >"$OUTDIR/BUILDINFO"
echo "== app: ${#APP_SRCS[@]} sources compiled and linked in $(elapsed "$t1") s"
echo "build/static/bootstrap: $(stat -c %s "$OUTDIR/bootstrap") bytes, sha256 $SHA"

if [ "$DIST" = 1 ]; then
    mkdir -p "$DISTDIR"
    cp -f "$OUTDIR/bootstrap" "$DISTDIR/bootstrap-linux-x86_64"
    chmod 0755 "$DISTDIR/bootstrap-linux-x86_64"
    (cd "$DISTDIR" && sha256sum bootstrap-linux-x86_64 >bootstrap-linux-x86_64.sha256)
    echo "dist/bootstrap-linux-x86_64 + .sha256 written"
    # The Launchable bundle: bin/bootstrap + share/bootstrap/ (manifest, unit, entrypoint),
    # a reproducible tar.gz (sorted names, fixed times and owners, gzip without a name or time).
    BUNDLE=$DISTDIR/bundle
    rm -rf "$BUNDLE"
    mkdir -p "$BUNDLE/bin" "$BUNDLE/share/bootstrap/fish-speech-patches" "$BUNDLE/share/doc/bootstrap"
    # the documentation every --help cites (bootstrap finds it at ../share/doc/bootstrap)
    install -m 0644 "$REPO"/docs/*.md "$BUNDLE/share/doc/bootstrap/"
    install -m 0755 "$OUTDIR/bootstrap" "$BUNDLE/bin/bootstrap"
    install -m 0644 "$REPO/launchable/launchable.json" "$REPO/launchable/bootstrap.service" \
        "$REPO/launchable/train_guard.py" "$REPO/launchable/fish-speech-requirements.txt" \
        "$BUNDLE/share/bootstrap/"
    install -m 0644 "$REPO"/launchable/fish-speech-patches/*.patch "$BUNDLE/share/bootstrap/fish-speech-patches/"
    install -m 0755 "$REPO/launchable/train_finnish.sh" "$REPO/launchable/prepare_data.py" \
        "$REPO/launchable/fi_normalize.py" "$REPO/launchable/train_gpus.py" \
        "$REPO/launchable/demo_entrypoint.sh" "$BUNDLE/share/bootstrap/"
    tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
        -C "$BUNDLE" -cf - bin share | gzip -n -9 >"$DISTDIR/bootstrap-linux-x86_64.tar.gz"
    rm -rf "$BUNDLE"
    BSHA=$(sha256sum "$DISTDIR/bootstrap-linux-x86_64.tar.gz" | cut -d' ' -f1)
    (cd "$DISTDIR" && sha256sum bootstrap-linux-x86_64.tar.gz >bootstrap-linux-x86_64.tar.gz.sha256)
    # The script to paste into Brev, pinned to this bundle.
    sed "s/^PIN_SHA256=.*/PIN_SHA256=$BSHA/" "$REPO/launchable/startup.sh" >"$DISTDIR/startup.sh"
    chmod 0755 "$DISTDIR/startup.sh"
    grep -q "^PIN_SHA256=$BSHA\$" "$DISTDIR/startup.sh" || { echo "cannot pin dist/startup.sh" >&2; exit 1; }
    echo "dist/bootstrap-linux-x86_64.tar.gz (sha256 $BSHA) + dist/startup.sh pinned to it"
    echo "publish the bundle at the PIN_URL of launchable/startup.sh, then paste dist/startup.sh into Brev"
fi
echo "== total $(elapsed "$T0") s"
exit 0
}
