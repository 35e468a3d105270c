# SPDX-License-Identifier: Apache-2.0
# shoal - build, deps, tests, demo, bench.  `make help` lists the targets.

CC      ?= gcc
CLANG   ?= clang
BPFTOOL ?= bpftool
ARCH    := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
O       := build

PKGS    := libnl-route-3.0 libmicrohttpd jansson sqlite3 libcurl libbpf libarchive libsodium
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS  ?= -O2 -g
CFLAGS  += -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -pthread \
	   -Iinclude -I$(O) $(PKG_CFLAGS)
LDLIBS  += $(PKG_LIBS) -pthread

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	      -Ivmlinux/$(ARCH) -Iinclude -Ibpf

# Debian packages for build, tests, demo, bench and tools.
DEB_PKGS := gcc make clang llvm pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev \
	    libnl-3-dev libnl-route-3-dev libmicrohttpd-dev libjansson-dev \
	    libsqlite3-dev sqlite3 libcurl4-openssl-dev iproute2 iputils-ping \
	    bats jq busybox-static iperf3 sockperf tcpdump util-linux procps \
	    bridge-utils ethtool netcat-openbsd curl \
	    libarchive-dev zstd btrfs-progs xfsprogs docker-registry skopeo docker.io libsodium-dev prometheus \
	    etcd-server etcd-client libzookeeper-mt-dev zookeeper default-jre-headless

COMMON_SRC  := $(wildcard user/common/*.c)
# user/kv/url.c (the cluster-store URL) is needed by config validation everywhere.
LIB_SRC     := $(COMMON_SRC) $(wildcard user/state/*.c user/config/*.c user/ipam/*.c) user/kv/url.c
STORE_SRC   := $(wildcard user/storage/*.c user/archive/*.c user/image/*.c user/volume/*.c)
DAEMON_SRC  := $(LIB_SRC) $(STORE_SRC) $(wildcard user/netlink/*.c user/loader/*.c user/daemon/*.c user/gossip/*.c) \
	       $(filter-out user/kv/url.c,$(wildcard user/kv/*.c))
CLI_SRC     := $(COMMON_SRC) $(wildcard user/cli/*.c) user/archive/archive.c user/archive/fsutil.c
UNIT_SRC    := $(LIB_SRC) $(STORE_SRC) $(wildcard tests/unit/*.c user/gossip/*.c)
BPFTEST_SRC := $(COMMON_SRC) $(wildcard tests/bpf/*.c)
# The container runtime (namespaces, mounts, exec) and the per-container shim.
RUNTIME_SRC := $(wildcard user/runtime/*.c)
SYSTEST_SRC := $(LIB_SRC) $(STORE_SRC) $(RUNTIME_SRC) $(wildcard user/netlink/*.c user/loader/*.c tests/sys/*.c)
SIM_SRC     := $(COMMON_SRC) $(wildcard user/gossip/*.c) tools/gossip-sim.c
SHIM_SRC    := $(COMMON_SRC) $(RUNTIME_SRC) $(wildcard user/shim/*.c)

BPF_SRC  := $(wildcard bpf/*.bpf.c)
BPF_OBJ  := $(patsubst bpf/%.bpf.c,$(O)/%.bpf.o,$(BPF_SRC))
SKELS    := $(patsubst bpf/%.bpf.c,$(O)/%.skel.h,$(BPF_SRC))
BPF_HDRS := $(wildcard bpf/lib/*.h bpf/*.h) include/shoal_maps.h

obj = $(patsubst %.c,$(O)/%.o,$(1))

BINS := $(O)/shoald $(O)/shoal $(O)/shoal-test-unit $(O)/shoal-test-bpf $(O)/shoal-test-sys \
	$(O)/shoal-gossip-sim $(O)/shoal-shim
# Benchmark helpers: built by `make bench` only, not by `all`.
BENCH_SRC  := $(COMMON_SRC) user/archive/archive.c user/archive/fsutil.c tools/bench/extract.c
BENCH_BINS := $(O)/shoal-bench-extract $(O)/shoal-bench-mapwatch

.PHONY: all deps check test demo bench clean help format install uninstall
.DELETE_ON_ERROR:
.SECONDARY:

all: $(BINS)

help:
	@echo "make deps   install the Debian packages shoal needs (idempotent)"
	@echo "make        build $(BINS)"
	@echo "make check  deps + build + every test (ends with 'N passed, N failed')"
	@echo "make demo   deps + build + the single-host demo"
	@echo "make bench  deps + build + benchmarks against veth / bridge"
	@echo "make install [DESTDIR=] [PREFIX=/usr/local]   shoald, shoal, shoal-shim, the"
	@echo "            systemd unit, /etc/init.d/shoal, /etc/default/shoal (kept if present)"
	@echo "make uninstall  remove them again (never /etc/default/shoal, config or data)"

deps:
	@missing=$$(for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
		|| { echo "make deps: apt-get install failed for:" $$missing >&2; exit 1; }; \
	fi

$(O)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) vmlinux/$(ARCH)/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(O)/%.skel.h: $(O)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@

$(O)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# Only the code that includes a skeleton waits for the BPF build.
$(call obj,$(wildcard user/loader/*.c tests/bpf/*.c tests/sys/*.c)): $(SKELS)

# ZooKeeper's C client has no pkg-config file (Debian libzookeeper-mt-dev).
$(O)/shoald: $(call obj,$(DAEMON_SRC))
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lzookeeper_mt

$(O)/shoal: $(call obj,$(CLI_SRC))
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(O)/shoal-shim: $(call obj,$(SHIM_SRC))
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(O)/shoal-test-unit: $(call obj,$(UNIT_SRC))
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# N gossip nodes on 127.0.0.1: the figures of /work/shared/bench/memberlist.
$(O)/shoal-gossip-sim: $(call obj,$(SIM_SRC))
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(O)/shoal-test-bpf: $(call obj,$(BPFTEST_SRC))
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(O)/shoal-test-sys: $(call obj,$(SYSTEST_SRC))
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(O)/shoal-bench-extract: $(call obj,$(BENCH_SRC))
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# Part 5 of make bench: first sight of a key in a pinned endpoints map.
$(O)/shoal-bench-mapwatch: $(call obj,tools/bench/mapwatch.c)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# Regenerate vmlinux.h from the running kernel's BTF (checked in).
vmlinux:
	tools/gen-vmlinux-h.sh $(ARCH)

check: deps
	$(MAKE) all
	tests/run-all.sh

test: check

demo: deps
	$(MAKE) all
	tools/demo.sh

bench: deps
	$(MAKE) all $(BENCH_BINS)
	tools/bench.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h' | grep -v vmlinux)

# Install as a service. All three programs go in one directory: shoald
# runs the shoal-shim next to its own executable (/proc/self/exe), and the
# BPF objects are compiled into shoald (bpftool skeletons), so nothing
# else is needed at run time, from any cwd. The unit and the init script
# name the installed shoald. /etc/default/shoal is config: never
# overwritten, and left by uninstall like /etc/shoal and the data.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
INSTALL_BINS := shoald shoal shoal-shim

install: $(addprefix $(O)/,$(INSTALL_BINS))
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSCONFDIR)/init.d $(DESTDIR)$(SYSCONFDIR)/default
	install -m 755 $^ $(DESTDIR)$(BINDIR)/
	sed 's|/usr/local/bin/shoald|$(BINDIR)/shoald|; s|/etc/default/shoal|$(SYSCONFDIR)/default/shoal|' \
		contrib/systemd/shoal.service \
		> $(DESTDIR)$(UNITDIR)/shoal.service
	chmod 644 $(DESTDIR)$(UNITDIR)/shoal.service
	sed 's|/usr/local/bin/shoald|$(BINDIR)/shoald|; s|/etc/default/shoal|$(SYSCONFDIR)/default/shoal|' \
		contrib/init.d/shoal > $(DESTDIR)$(SYSCONFDIR)/init.d/shoal
	chmod 755 $(DESTDIR)$(SYSCONFDIR)/init.d/shoal
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/default/shoal ]; then \
		echo "keeping $(DESTDIR)$(SYSCONFDIR)/default/shoal"; \
	else \
		echo "install -m 644 contrib/default/shoal $(DESTDIR)$(SYSCONFDIR)/default/shoal"; \
		install -m 644 contrib/default/shoal $(DESTDIR)$(SYSCONFDIR)/default/shoal; \
	fi

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(INSTALL_BINS)) \
		$(DESTDIR)$(UNITDIR)/shoal.service $(DESTDIR)$(SYSCONFDIR)/init.d/shoal

clean:
	rm -rf $(O)

-include $(shell find $(O) -name '*.d' 2>/dev/null)
