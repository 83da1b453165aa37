# SPDX-License-Identifier: BSD-2-Clause
#
# make                 build/bhyve, build/bhyvectl and the test guests
# make check           build and run every test (installs what it needs)
# make SANITIZE=1 check   the same under AddressSanitizer + UBSan
# make run             boot the demo guest
# make bench           benchmarks, side by side with QEMU

CC ?= cc
CLANG ?= clang
OPT ?= -O2 -g

ifeq ($(SANITIZE),1)
BUILD ?= build/san
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
else
BUILD ?= build
SAN_FLAGS :=
endif

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wformat=2 -Wundef -Wvla \
	-Wwrite-strings -Wimplicit-fallthrough -Wcast-align \
	-Wno-unused-parameter
CFLAGS := -std=gnu11 $(OPT) $(WARN) $(SAN_FLAGS) -D_FORTIFY_SOURCE=2 \
	-fstack-protector-strong -pthread
LDFLAGS := $(SAN_FLAGS) -pthread
LDLIBS := -lutil

# Each part sees only the headers it may use: the device model reaches the
# vmm through libvmmapi and never includes a vmm internal.
INC_src/vmm := -Isrc/include -Isrc/vmm
INC_src/vmmapi := -Isrc/include -Isrc/vmm -Isrc/vmmapi
INC_src/bhyve := -Isrc/include -Isrc/vmmapi -Isrc/bhyve
INC_src/bhyvectl := -Isrc/include -Isrc/vmmapi -Isrc/bhyve
INC_tests/unit := -Isrc/include -Isrc/vmmapi -Isrc/bhyve -Isrc/vmm -Itests/unit
INC_tests/fuzz := $(INC_tests/unit)
INC_bench := -Isrc/include -Isrc/vmmapi -Isrc/bhyve -Isrc/vmm

VMM_SRCS := $(wildcard src/vmm/*.c src/vmm/kvm/*.c src/vmm/io/*.c \
	src/vmm/x86/*.c src/vmm/vtx/*.c src/vmm/intel/*.c src/vmmapi/*.c)
BHYVE_LIB_SRCS := $(filter-out src/bhyve/main.c,$(wildcard src/bhyve/*.c))
BHYVECTL_SRCS := $(wildcard src/bhyvectl/*.c)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_SUPPORT_SRCS := $(filter-out $(UNIT_SRCS),$(wildcard tests/unit/*.c))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
# Include flags for a source directory: its INC_ variable, or for a part of
# the vmm core (src/vmm/<part>) the core's own plus the part's directory.
incs = $(or $(INC_$(1)),$(if $(filter src/vmm/%,$(1)),$(INC_src/vmm) -I$(1)))

LIBVMM := $(BUILD)/libvmm.a
LIBBHYVE := $(BUILD)/libbhyve.a
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

all: $(BUILD)/bhyve $(BUILD)/bhyvectl guests

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) $(call incs,$(patsubst %/,%,$(dir $<))) -MMD -MP -c $< -o $@

$(LIBVMM): $(call obj,$(VMM_SRCS)) Makefile
	@rm -f $@
	$(AR) rcs $@ $(filter %.o,$^)

$(LIBBHYVE): $(call obj,$(BHYVE_LIB_SRCS)) Makefile
	@rm -f $@
	$(AR) rcs $@ $(filter %.o,$^)

$(BUILD)/bhyve: $(call obj,src/bhyve/main.c) $(LIBBHYVE) $(LIBVMM)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bhyvectl: $(call obj,$(BHYVECTL_SRCS)) $(LIBBHYVE) $(LIBVMM)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(call obj,tests/unit/%.c) \
		$(call obj,$(UNIT_SUPPORT_SRCS)) $(LIBBHYVE) $(LIBVMM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# test_ctl also runs bhyvectl as a separate program.
$(BUILD)/tests/test_ctl: | $(BUILD)/bhyvectl

include tests/guests/guests.mk
include tests/fuzz/fuzz.mk
include bench/bench.mk
include tests/linux/linux.mk

deps:
	@tools/install-deps

unit: $(UNIT_TESTS)
	@tools/run-unit $(UNIT_TESTS)

check: deps all unit check-guests check-fuzz check-linux-auto
	@echo "make check: all tests passed"

# Debian's kernel and a busybox shell (tests/linux/linux.mk); the demo
# guest where Debian's packages cannot be fetched.
run: deps all
	@if tools/linux/mkinitramfs --fetch; then \
		$(MAKE) --no-print-directory linux && tools/linux/run $(BUILD); \
	else \
		echo "run: cannot fetch Debian's kernel; booting the demo guest"; \
		tools/demo $(BUILD); \
	fi

run-demo: deps all
	tools/demo $(BUILD)

clean:
	rm -rf build

.PHONY: all deps unit check run run-demo clean
.SECONDARY:

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
