# SPDX-License-Identifier: GPL-2.0
#
# make            build the modules against KDIR
# make demo       boot Debian's kernel in QEMU and run the demo client
# make check      build, static checks, and every test in both test VMs
# make bench      torusmm against the kernel's own mm, in QEMU on Debian's
#                 kernel: a table, build/bench/bench.csv and plots (REPS=5)
# make fuzz       the model-checking fuzzer in the debug VM
#                 (SEED=, OPS= or TIME= seconds, THREADS=, PARAMS= of torusmm.ko)
# make deps       install the Debian packages the above need
# make install    install the modules for KDIR's kernel under
#                 $(INSTALL_MOD_PATH)/lib/modules/<release>/extra and depmod there

# The running kernel's build directory when it has one; otherwise the
# installed Debian headers (a build machine often runs another kernel).
DEBIAN_ABI := $(shell dpkg-query -W -f='$${Depends}' linux-headers-amd64 2>/dev/null | \
		sed -n 's/.*linux-headers-\([^ ,]*-amd64\).*/\1/p')
RUNNING_KDIR := /lib/modules/$(shell uname -r)/build
ifneq ($(wildcard $(RUNNING_KDIR)/Makefile),)
KDIR ?= $(RUNNING_KDIR)
else
KDIR ?= /lib/modules/$(DEBIAN_ABI)/build
endif

# The release the modules are built for: their vermagic, and the directory
# under /lib/modules they belong in.  Kbuild's own guess, kernelrelease, is
# wrong for Debian's headers (include/config/kernel.release says 6.1.192
# where the kernel is 6.1.0-57-amd64); UTS_RELEASE is what vermagic holds.
KRELEASE = $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"/\1/p' \
		$(KDIR)/include/generated/utsrelease.h 2>/dev/null)

.PHONY: all modules clients install deps demo check bench fuzz clean

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

clients:
	$(MAKE) -C clients

# Kbuild's modules_install skips depmod without a System.map, which headers
# lack; depmod here, on the same root, so that modprobe finds the core (and
# from /usr/sbin, which a user's PATH may lack).  Kbuild would take a
# relative INSTALL_MOD_PATH relative to KDIR.
install: modules
	@test -n "$(KRELEASE)" || \
		{ echo "no UTS_RELEASE in $(KDIR)/include/generated/utsrelease.h" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) KERNELRELEASE=$(KRELEASE) \
		$(if $(INSTALL_MOD_PATH),INSTALL_MOD_PATH=$(abspath $(INSTALL_MOD_PATH))) \
		modules_install
	PATH="$$PATH:/usr/sbin:/sbin" depmod \
		$(if $(INSTALL_MOD_PATH),-b $(abspath $(INSTALL_MOD_PATH))) -a $(KRELEASE)

deps:
	scripts/deps.sh

demo:
	scripts/deps.sh --if-missing
	scripts/demo.sh

check:
	scripts/deps.sh --if-missing
	scripts/check.sh

REPS ?= 5
bench:
	scripts/deps.sh --if-missing
	scripts/bench.sh -n $(REPS)

fuzz:
	scripts/deps.sh --if-missing
	scripts/fuzz.sh $(if $(SEED),-s $(SEED)) $(if $(OPS),-n $(OPS)) \
		$(if $(TIME),-T $(TIME)) $(if $(THREADS),-j $(THREADS)) \
		$(if $(PARAMS),-p "$(PARAMS)")

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || true
	$(MAKE) -C clients clean 2>/dev/null || true
	$(MAKE) -C tests clean 2>/dev/null || true
	rm -rf build
