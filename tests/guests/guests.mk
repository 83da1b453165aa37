# SPDX-License-Identifier: BSD-2-Clause
#
# Test guests: freestanding multiboot kernels built with the host compiler,
# one feature each, reporting on COM1 and through isa-debug-exit (0xf4).
#
#   make guests          $(BUILD)/guests/<name>.elf (+ aout.bin)
#   make check-guests    boot each under $(BUILD)/bhyve and check the output
#   PEER=qemu tests/guests/run-tests $(BUILD)   the same guests under QEMU
#
# The guests get their own flags, never the project's CFLAGS: sanitizers,
# _FORTIFY_SOURCE or a stack protector would pull in a libc they lack.

GUEST_SRC := tests/guests
GUEST_OUT := $(BUILD)/guests
GUEST_OBJ := $(GUEST_OUT)/obj

GUEST_CFLAGS := -std=gnu11 -O2 -g -m64 -ffreestanding -fno-pic -fno-pie \
	-mno-red-zone -fno-stack-protector -nostdlib -mgeneral-regs-only \
	-fno-asynchronous-unwind-tables -fcf-protection=none \
	-fno-stack-clash-protection -fno-omit-frame-pointer \
	-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wundef -Wvla \
	-Wwrite-strings -Wno-unused-parameter -I$(GUEST_SRC)/lib
GUEST_LDFLAGS := -nostdlib -static -no-pie -z max-page-size=0x1000 \
	-z noexecstack --build-id=none -T $(GUEST_SRC)/lib/guest.ld

# Guests in ELF form; aout is the one multiboot a.out-kludge kernel.
GUEST_NAMES := hello regs mbinfo module fwcfg pctestdev stringio triple \
	halt demo pci smp ipi lapic_timer pit_ioapic pit_pic rtc hpet \
	pmtimer level_irq chip_garbage acpi garbage wait virtio_rnd \
	virtio_console virtio_blk virtio_net
GUEST_LIB_OBJS := $(patsubst $(GUEST_SRC)/lib/%.c,$(GUEST_OBJ)/lib/%.o,\
	$(wildcard $(GUEST_SRC)/lib/*.c))
# The kit's other assembly files (entry.S has rules of its own, below).
GUEST_LIB_ASM := $(filter-out $(GUEST_SRC)/lib/entry.S,\
	$(wildcard $(GUEST_SRC)/lib/*.S))
GUEST_LIB_OBJS += $(patsubst $(GUEST_SRC)/lib/%.S,$(GUEST_OBJ)/lib/%.o,\
	$(GUEST_LIB_ASM))
GUEST_ELFS := $(patsubst %,$(GUEST_OUT)/%.elf,$(GUEST_NAMES))

guests: $(GUEST_ELFS) $(GUEST_OUT)/aout.bin $(GUEST_OUT)/vcon_peer

# The host side of the virtio_console test: a host program.
$(GUEST_OUT)/vcon_peer: $(GUEST_SRC)/host/vcon_peer.c
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"
	@$(CC) $(CFLAGS) -o $@ $<

$(GUEST_OBJ)/%.o: $(GUEST_SRC)/%.c
	@mkdir -p $(dir $@)
	@echo "  GUESTCC $<"
	@$(CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

$(GUEST_OBJ)/lib/%.o: $(GUEST_SRC)/lib/%.S
	@mkdir -p $(dir $@)
	@echo "  GUESTAS $<"
	@$(CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

$(GUEST_OBJ)/lib/entry.o: $(GUEST_SRC)/lib/entry.S
	@mkdir -p $(dir $@)
	@echo "  GUESTAS $<"
	@$(CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

$(GUEST_OBJ)/lib/entry-aout.o: $(GUEST_SRC)/lib/entry.S
	@mkdir -p $(dir $@)
	@echo "  GUESTAS $< (a.out kludge)"
	@$(CC) $(GUEST_CFLAGS) -DMB_AOUT -MMD -MP -c $< -o $@

# Linked as x86-64, then rewrapped as ELF32: QEMU's multiboot loader only
# takes ELF32 (the 64-bit code inside does not care).
$(GUEST_OBJ)/%.elf64: $(GUEST_OBJ)/%.o $(GUEST_OBJ)/lib/entry.o \
		$(GUEST_LIB_OBJS) $(GUEST_SRC)/lib/guest.ld
	@echo "  GUESTLD $@"
	@$(LD) $(GUEST_LDFLAGS) -o $@ $(filter %.o,$^)

$(GUEST_OUT)/%.elf: $(GUEST_OBJ)/%.elf64
	@objcopy -O elf32-i386 $< $@

# The a.out-kludge guest is a flat image from load_addr to load_end_addr,
# followed by 4 KiB of 0xaa that a correct loader must not copy: where
# they would land, bss_end_addr tells it to put zeroes (Multiboot 3.1.3).
$(GUEST_OBJ)/aout.elf64: $(GUEST_OBJ)/aout.o $(GUEST_OBJ)/lib/entry-aout.o \
		$(GUEST_LIB_OBJS) $(GUEST_SRC)/lib/guest.ld
	@echo "  GUESTLD $@"
	@$(LD) $(GUEST_LDFLAGS) -o $@ $(filter %.o,$^)

$(GUEST_OUT)/aout.bin: $(GUEST_OBJ)/aout.elf64
	@objcopy -O binary $< $@.tmp
	@head -c 4096 /dev/zero | tr '\000' '\252' >> $@.tmp
	@mv $@.tmp $@

# Every guest on both backends: they must give the same results.
check-guests: $(BUILD)/bhyve $(BUILD)/bhyvectl guests
	BACKEND=kvm tests/guests/run-tests $(BUILD)
	BACKEND=vtx tests/guests/run-tests $(BUILD)

.PHONY: guests check-guests

-include $(wildcard $(GUEST_OBJ)/*.d $(GUEST_OBJ)/lib/*.d)
