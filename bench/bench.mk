# SPDX-License-Identifier: BSD-2-Clause
# Benchmarks: figures side by side with a peer (QEMU), not tests.
#   make bench        exit cost, boot time and memory, bhyve vs QEMU
BENCH_PROGS := $(BUILD)/bench/exitcost $(BUILD)/bench/runstat \
	$(BUILD)/bench/x86core $(BUILD)/bench/vblk
BENCH_GUESTS := $(BUILD)/bench/guest_exit.elf $(BUILD)/bench/guest_idle.elf

$(BUILD)/bench/exitcost: $(call obj,bench/exitcost.c) $(LIBBHYVE) $(LIBVMM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/vblk: $(call obj,bench/vblk.c) $(LIBBHYVE) $(LIBVMM)
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

bench: all $(BENCH_PROGS) $(BENCH_GUESTS)
	$(BUILD)/bench/exitcost
	$(BUILD)/bench/x86core
	$(BUILD)/bench/vblk
	bench/compare $(BUILD)

.PHONY: bench
