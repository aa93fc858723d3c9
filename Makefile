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
# make install    install the modules into KDIR's /lib/modules and depmod

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

.PHONY: all modules clients install deps demo check bench fuzz clean

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

clients:
	$(MAKE) -C clients

install: modules
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install
	depmod -a $(shell $(MAKE) -s -C $(KDIR) kernelrelease 2>/dev/null)

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
