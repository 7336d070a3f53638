# Ferry: one Makefile, no generator. `make run` and `make test` work on a fresh Debian machine.
#   make            build bin/ferryd and bin/ferry
#   make run        install missing packages, build, start ferryd on the embedded default config
#   make test       install missing packages, build, run unit and end-to-end tests
#   make test SAN=1 the same under AddressSanitizer + UndefinedBehaviorSanitizer (separate build dir)
#   make bench      run the benchmark harness against vsftpd, pure-ftpd, ProFTPD, pyftpdlib
#   make test-ktls  the FTPS tests in a VM with a kTLS-capable kernel (QEMU), with and without kTLS
#   make fuzz-run   the libFuzzer harnesses, FUZZ_SECONDS each
#   make windows    build/win/bin/ferryd.exe, ferry.exe, unit_tests.exe (mingw-w64, static)
#   make test-windows  the unit tests and the e2e suite under wine

CXX      ?= g++
SAN      ?=
WINDOWS  ?=
MODE     := $(if $(WINDOWS),win,$(if $(SAN),san,rel))
OUT      := build/$(MODE)
BIN      := $(if $(SAN)$(WINDOWS),$(OUT)/bin,bin)
EXE      := $(if $(WINDOWS),.exe,)

TOML_CFLAGS := -DTOML_HEADER_ONLY=0 -DTOML_SHARED_LIB=1
# libpq for the PostgreSQL accounts store (src/db/, Linux builds only).
PQ_CFLAGS   := -I/usr/include/postgresql -DFERRY_POSTGRESQL=1
CXXFLAGS ?= -O2 -g
CXXFLAGS += -std=c++20 -Wall -Wextra -Werror -pthread -Isrc $(TOML_CFLAGS) $(PQ_CFLAGS) -MMD -MP
LDLIBS   := -ltomlplusplus -lsodium -lssl -lcrypto -lz -lpq -pthread
CLIENT_LDLIBS := -ledit  # the prompt's line editing (client/posix/line_editor.cpp)
SERVER_LDLIBS := -lmicrohttpd -lcurl  # the metrics endpoint, the URL hooks (app/linux/)
ifneq ($(SAN),)
# vptr is off: UBSan's vptr check trips on doctest's own stream class before any test runs.
CXXFLAGS += -fsanitize=address,undefined -fno-sanitize=vptr -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined -fno-sanitize=vptr
endif
# The Windows build (make windows): the posix-thread mingw-w64 compiler (the win32-thread one has
# no std::thread in GCC 12), the target's libraries from tools/windows/deps (WIN_DEPS), toml++
# compiled once in src/sys/windows/toml.cpp instead of Debian's shared library.
ifneq ($(WINDOWS),)
CXX      := x86_64-w64-mingw32-g++-posix
CXXFLAGS := -O2 -std=c++20 -Wall -Wextra -Werror -Isrc -I$(WIN_DEPS)/include -D_WIN32_WINNT=0x0A00 \
            -DWIN32_LEAN_AND_MEAN -DNOMINMAX -DUNICODE -D_UNICODE -DTOML_HEADER_ONLY=0 -MMD -MP
LDFLAGS  := -static -L$(WIN_DEPS)/lib
LDLIBS   := -lsodium -lssl -lcrypto -lz -lws2_32 -lmswsock -lcrypt32 -lntdll -lbcrypt -luserenv -ladvapi32
PLATFORM_DIRS := windows
CLIENT_LDLIBS :=
SERVER_LDLIBS :=
endif

# The platform's own folders (src/*/posix/, src/*/linux/; src/*/windows/ for a Windows build):
# the only place the build knows which OS it is for. README "Where the platform lives".
PLATFORM_DIRS ?= posix linux
PLATFORM_SRCS := $(foreach dir,$(PLATFORM_DIRS),$(wildcard src/*/$(dir)/*.cpp))

# Everything under src/ except the two programs' entry points and the client goes into one archive.
LIB_SRCS    := $(filter-out src/app/main.cpp src/client/% $(if $(WINDOWS),src/db/%),$(wildcard src/*/*.cpp) $(PLATFORM_SRCS))
CLIENT_SRCS := $(filter src/client/%,$(wildcard src/client/*.cpp) $(PLATFORM_SRCS))
UNIT_SRCS   := $(wildcard tests/unit/*.cpp)
ifneq ($(WINDOWS),)
# The unit tests that do not drive POSIX calls themselves (symlinks, FIFOs, sockets of the Linux
# backend, fnmatch as an oracle); the jail and the IOCP backend are covered under wine end to end.
WIN_UNIT_SKIP := test_home test_landlock test_list_pattern test_net test_tls_stream test_tls_context \
                 test_transfer_control test_hash test_upload_digest test_user_cli test_proxy_reader
UNIT_SRCS   := $(filter-out $(WIN_UNIT_SKIP:%=tests/unit/%.cpp),$(UNIT_SRCS))
endif
LIB_OBJS    := $(LIB_SRCS:%.cpp=$(OUT)/%.o)
CLIENT_OBJS := $(CLIENT_SRCS:%.cpp=$(OUT)/%.o)
UNIT_OBJS   := $(UNIT_SRCS:%.cpp=$(OUT)/%.o)
# The client's parsers and planners are unit-tested too: everything but its entry point.
CLIENT_PARTS := $(filter-out $(OUT)/src/client/main.o,$(CLIENT_OBJS))
LIB         := $(OUT)/libferry.a

# Debian packages the build, the tests and `make run` need. Only the missing ones are installed.
BUILD_PKGS := g++ make pkg-config libsodium-dev libtomlplusplus-dev doctest-dev libssl-dev zlib1g-dev libpq-dev libedit-dev libmicrohttpd-dev libcurl4-openssl-dev
TEST_PKGS  := python3 python3-pyftpdlib curl lftp openssl wget rclone haproxy postgresql php-cli ruby strace tmux prometheus
SUDO       := $(if $(filter 0,$(shell id -u)),,sudo)
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)

# $(call install_missing,PACKAGES,APT_OPTIONS): installs those of the Debian packages that are
# missing (apt-get runs only when one is), for each target that needs packages of its own.
define install_missing
@missing=""; for p in $(1); do \
  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
done; \
if [ -n "$$missing" ]; then \
  echo "installing Debian packages:$$missing"; \
  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(2) $$missing; \
fi
endef

.PHONY: all deps run test unit e2e bench clean
all: $(BIN)/ferryd$(EXE) $(BIN)/ferry$(EXE)

deps:
	$(call install_missing,$(BUILD_PKGS) $(TEST_PKGS),)

$(OUT)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BIN)/ferryd$(EXE): $(OUT)/src/app/main.o $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) $^ -o $@ $(LDLIBS) $(SERVER_LDLIBS)

$(BIN)/ferry$(EXE): $(CLIENT_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) $^ -o $@ $(LDLIBS) $(CLIENT_LDLIBS)

$(OUT)/unit_tests$(EXE): $(UNIT_OBJS) $(CLIENT_PARTS) $(LIB)
	$(CXX) $(LDFLAGS) $^ -o $@ $(LDLIBS) $(CLIENT_LDLIBS) $(SERVER_LDLIBS)

run: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	$(BIN)/ferryd $(ARGS)

unit: $(OUT)/unit_tests
	$(OUT)/unit_tests

# The e2e runner starts the real ferryd on loopback; FERRYD/FERRY say which build to drive.
e2e: all
	FERRY_CHECK_REACTOR=1 FERRYD=$(abspath $(BIN)/ferryd) FERRY=$(abspath $(BIN)/ferry) python3 tests/run_all.py --e2e-only $(E2E_ARGS)

test: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all $(OUT)/unit_tests
	@FERRYD=$(abspath $(BIN)/ferryd) FERRY=$(abspath $(BIN)/ferry) UNIT_TESTS=$(abspath $(OUT)/unit_tests) \
	  FERRY_SANITIZED=$(if $(SAN),1,) FERRY_CHECK_REACTOR=1 python3 tests/run_all.py

bench: deps all
	bench/run $(BENCH_ARGS)

clean:
	rm -rf build bin

# ---- make install (PREFIX, DESTDIR) and make deb (a .deb built with debhelper, checked by lintian).
# The installed config is etc/ferryd.toml with the data under /srv/ferry and the logs under
# /var/log/ferry, where the unit lets the server write; the package creates the `ferry` user.
PREFIX     ?= /usr/local
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR    ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
DATADIR    ?= /srv/ferry
LOGDIR     ?= /var/log/ferry
INSTALL    ?= install
DEB_PKGS   := debhelper dpkg-dev lintian fakeroot
.PHONY: install deb test-deb
install: all
	$(INSTALL) -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(SYSCONFDIR)/ferry $(DESTDIR)$(SYSCONFDIR)/logrotate.d \
	  $(DESTDIR)$(SYSCONFDIR)/fail2ban/filter.d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(PREFIX)/share/doc/ferry
	$(INSTALL) -m 0755 $(BIN)/ferryd $(DESTDIR)$(PREFIX)/sbin/ferryd
	$(INSTALL) -m 0755 $(BIN)/ferry $(DESTDIR)$(PREFIX)/bin/ferry
	gzip -9n < man/ferryd.8 > $(DESTDIR)$(PREFIX)/share/man/man8/ferryd.8.gz
	gzip -9n < man/ferry.1 > $(DESTDIR)$(PREFIX)/share/man/man1/ferry.1.gz
	sed -e 's|^root = .*|root = "$(DATADIR)/homes"|' -e 's|^# shared_root = .*|shared_root = "$(DATADIR)/shared"|' \
	  -e 's|^users_file = .*|users_file = "$(DATADIR)/users.toml"|' -e 's|^bans_file = .*|bans_file = "$(DATADIR)/bans.toml"|' \
	  -e 's|^log_file = .*|log_file = "$(LOGDIR)/ferryd.log"|' -e 's|^xferlog = .*|xferlog = "$(LOGDIR)/xferlog"|' \
	  etc/ferryd.toml > $(DESTDIR)$(SYSCONFDIR)/ferry/ferryd.toml.new
	chmod 0640 $(DESTDIR)$(SYSCONFDIR)/ferry/ferryd.toml.new
	@# An edited config is never overwritten: the new one waits beside it.
	if [ -e $(DESTDIR)$(SYSCONFDIR)/ferry/ferryd.toml ]; then echo "kept $(SYSCONFDIR)/ferry/ferryd.toml; the new default is ferryd.toml.new"; \
	else mv $(DESTDIR)$(SYSCONFDIR)/ferry/ferryd.toml.new $(DESTDIR)$(SYSCONFDIR)/ferry/ferryd.toml; fi
	sed -e 's|/usr/local/bin/ferryd|$(PREFIX)/sbin/ferryd|' -e 's|/etc/ferry/|$(SYSCONFDIR)/ferry/|' \
	  -e 's|/usr/local/share/doc/ferry|$(PREFIX)/share/doc/ferry|' -e 's|/srv/ferry|$(DATADIR)|' -e 's|/var/log/ferry|$(LOGDIR)|' \
	  etc/ferryd.service > $(DESTDIR)$(UNITDIR)/ferryd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/ferryd.service
	$(INSTALL) -m 0644 etc/logrotate.d/ferryd $(DESTDIR)$(SYSCONFDIR)/logrotate.d/ferryd
	$(INSTALL) -m 0644 etc/fail2ban/filter.d/ferryd.conf $(DESTDIR)$(SYSCONFDIR)/fail2ban/filter.d/ferryd.conf
	$(INSTALL) -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/ferry/README.md

# build/deb/ferry_<version>_<arch>.deb, from a copy of the tree (dpkg-buildpackage writes next to it).
deb:
	$(call install_missing,$(BUILD_PKGS) $(DEB_PKGS),--no-install-recommends)
	rm -rf build/deb && mkdir -p build/deb/src
	git ls-files -z | xargs -0 cp --parents -t build/deb/src
	cd build/deb/src && dpkg-buildpackage -b -us -uc
	lintian --fail-on error build/deb/ferry_*.deb

# Installs the .deb on this machine, runs ferryd from it as the ferry user, then purges it.
test-deb: deb
	python3 tests/deb/run

# ---- kTLS: the FTPS tests inside a VM running Debian 12's stock kernel (this machine's kernel has
# no CONFIG_TLS), once with kTLS and once without the tls module; see tests/ktls/run.
KTLS_PKGS := qemu-system-x86 busybox-static kmod
.PHONY: test-ktls
test-ktls: deps
	$(call install_missing,$(KTLS_PKGS),--no-install-recommends)
	@$(MAKE) --no-print-directory -j$(JOBS) all
	tests/ktls/run

# ---- fuzzing: libFuzzer harnesses (clang) for the parser, the path normaliser, the LIST/NLST
# patterns, the accounts-file and config loaders, the PROXY protocol header; seed corpora in tests/fuzz/corpus/<name>/.
#   make fuzz                       build them in build/fuzz/
#   make fuzz-run FUZZ_SECONDS=60   run each that long on a copy of its corpus (CI does this)
FUZZ_PKGS    := clang libclang-rt-14-dev
FUZZ_OUT     := build/fuzz
FUZZ_NAMES   := command_parser vpath list_pattern accounts config proxy_header
FUZZ_FLAGS   := -O1 -g -std=c++20 -Wall -Wextra -Werror -pthread -Isrc $(TOML_CFLAGS) $(PQ_CFLAGS) -MMD -MP \
                -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_LIB_OBJS := $(LIB_SRCS:%.cpp=$(FUZZ_OUT)/%.o)
FUZZ_BINS    := $(FUZZ_NAMES:%=$(FUZZ_OUT)/fuzz_%)
FUZZ_SECONDS ?= 60
.SECONDARY: $(FUZZ_NAMES:%=$(FUZZ_OUT)/tests/fuzz/fuzz_%.o)

.PHONY: fuzz fuzz-run fuzz-deps
fuzz-deps:
	$(call install_missing,$(FUZZ_PKGS),--no-install-recommends)

$(FUZZ_OUT)/%.o: %.cpp
	@mkdir -p $(dir $@)
	clang++ $(FUZZ_FLAGS) -c $< -o $@

$(FUZZ_OUT)/libferry.a: $(FUZZ_LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_OUT)/fuzz_%: $(FUZZ_OUT)/tests/fuzz/fuzz_%.o $(FUZZ_OUT)/libferry.a
	clang++ -fsanitize=fuzzer,address,undefined $^ -o $@ $(LDLIBS)

fuzz: deps fuzz-deps
	@$(MAKE) --no-print-directory -j$(JOBS) $(FUZZ_BINS)

# Each harness runs FUZZ_SECONDS on a scratch copy of its corpus (new inputs stay out of the tree);
# a crash, a broken invariant or a slow input (-timeout) fails the run and leaves the input there.
fuzz-run: fuzz
	@set -e; for name in $(FUZZ_NAMES); do \
	  work=$$(mktemp -d /tmp/ferry-fuzz-$$name.XXXXXX); cp tests/fuzz/corpus/$$name/* $$work/; \
	  echo "=== fuzz $$name for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_OUT)/fuzz_$$name -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix=$$work/ $$work > $$work.log 2>&1 || { tail -40 $$work.log; echo "fuzz $$name FAILED: see $$work"; exit 1; }; \
	  grep -E "^stat::number_of_executed_units|^Done" $$work.log | tr '\n' ' '; echo; rm -rf $$work $$work.log; \
	done; echo "fuzz: $(words $(FUZZ_NAMES)) harnesses, no finding"

# ---- Windows: cross-built with mingw-w64, run under wine (tests/windows/run). See README "Windows".
WIN_PKGS := g++-mingw-w64-x86-64-posix mingw-w64-tools wine wine64 libz-mingw-w64-dev autoconf automake \
            libtool dpkg-dev
.PHONY: windows windows-deps test-windows
windows-deps:
	$(call install_missing,$(WIN_PKGS),--no-install-recommends)

windows: windows-deps
	@prefix=$$(tools/windows/deps | tail -1) && \
	  $(MAKE) --no-print-directory -j$(JOBS) WINDOWS=1 WIN_DEPS=$$prefix \
	    build/win/bin/ferryd.exe build/win/bin/ferry.exe build/win/unit_tests.exe

test-windows: deps windows all
	tests/windows/run

-include $(LIB_OBJS:.o=.d) $(CLIENT_OBJS:.o=.d) $(UNIT_OBJS:.o=.d) $(OUT)/src/app/main.d
-include $(FUZZ_LIB_OBJS:.o=.d) $(FUZZ_NAMES:%=$(FUZZ_OUT)/tests/fuzz/fuzz_%.d)
include bench/bench.mk
