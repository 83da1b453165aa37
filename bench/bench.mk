# SPDX-License-Identifier: BSD-2-Clause
# Benchmarks: figures side by side with a peer (QEMU), not tests.
#   make bench        exit cost, boot time and memory, interrupt latency,
#                     bhyve vs QEMU
BENCH_PROGS := $(BUILD)/bench/exitcost $(BUILD)/bench/runstat \
	$(BUILD)/bench/x86core $(BUILD)/bench/vblk $(BUILD)/bench/vnotify
BENCH_GUESTS := $(BUILD)/bench/guest_exit.elf $(BUILD)/bench/guest_idle.elf

$(BUILD)/bench/exitcost: $(call obj,bench/exitcost.c) $(LIBBHYVE) $(LIBVMM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/vblk: $(call obj,bench/vblk.c) $(LIBBHYVE) $(LIBVMM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/vnotify: $(call obj,bench/vnotify.c) $(LIBBHYVE) $(LIBVMM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/x86core: $(call obj,bench/x86core.c) $(LIBVMM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/runstat: bench/runstat.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $<

# Multiboot wants an ELF32 kernel: assemble 32-bit, link at 1 MiB.
$(BUILD)/bench/guest_%.elf: bench/guest_%.S
	@mkdir -p $(dir $@)
	$(CC) -m32 -c -o $(@:.elf=.o) $<
	$(LD) -m elf_i386 -N -Ttext=0x100000 -e _start -o $@ $(@:.elf=.o)

# C guests on the test-guest kit (tests/guests/guests.mk): its flags, its
# entry and library objects, and the same ELF32 rewrap for QEMU.  The
# explicit rules win over the guest_%.S pattern above.  The virtio guests
# share a small driver (guest_vio.c).
BENCH_CGUESTS := guest_latency guest_vblk guest_vnet cpuloop
BENCH_GUESTS += $(foreach g,$(BENCH_CGUESTS),$(BUILD)/bench/$(g).elf)

$(BUILD)/bench/obj/%.o: bench/%.c
	@mkdir -p $(dir $@)
	@echo "  GUESTCC $<"
	@$(CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

bench_guest_objs = $(BUILD)/bench/obj/$(1).o \
	$(if $(filter guest_vblk guest_vnet,$(1)),$(BUILD)/bench/obj/guest_vio.o) \
	$(GUEST_OBJ)/lib/entry.o $(GUEST_LIB_OBJS)

define bench_guest_rule
$(BUILD)/bench/obj/$(1).elf64: $(call bench_guest_objs,$(1)) \
		$(GUEST_SRC)/lib/guest.ld
	@echo "  GUESTLD $$@"
	@$(LD) $(GUEST_LDFLAGS) -o $$@ $$(filter %.o,$$^)

$(BUILD)/bench/$(1).elf: $(BUILD)/bench/obj/$(1).elf64
	@objcopy -O elf32-i386 $$< $$@
endef
$(foreach g,$(BENCH_CGUESTS),$(eval $(call bench_guest_rule,$(g))))

# Host tools that drive a VMM from outside.
$(BUILD)/bench/vnet_peer $(BUILD)/bench/linux-boot: $(BUILD)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $<
BENCH_PROGS += $(BUILD)/bench/vnet_peer $(BUILD)/bench/linux-boot

bench: all $(BENCH_PROGS) $(BENCH_GUESTS)
	$(BUILD)/bench/exitcost
	$(BUILD)/bench/x86core
	$(BUILD)/bench/vblk
	$(BUILD)/bench/vnotify
	bench/compare $(BUILD)
	bench/compare-irq $(BUILD)
	bench/cpuloop-compare $(BUILD)
	bench/compare-io $(BUILD)

.PHONY: bench

-include $(wildcard $(BUILD)/bench/obj/*.d)
