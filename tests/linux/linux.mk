# SPDX-License-Identifier: BSD-2-Clause
#
# A real Linux guest: Debian's kernel (linux-image-amd64) and an initramfs
# of busybox-static and the virtio modules, made from Debian's packages by
# tools/linux/mkinitramfs (apt-get download into build/linux-cache; nothing
# is installed on the host).
#
#   make linux              $(BUILD)/linux/{vmlinuz,vmlinux,initramfs.cpio.gz}
#   make run-linux          boot it: a busybox shell on this terminal
#   make check-linux        boot it several ways, check what the guest reports
#   make check-linux-auto   check-linux if the packages can be fetched, else
#                           one SKIP line (what make check runs)
#   make bench-linux        boot time and idle memory beside QEMU TCG

LINUX_OUT := $(BUILD)/linux
LINUX_STAMP := $(LINUX_OUT)/.stamp
LINUX_TOOLS := tools/linux/mkinitramfs tools/linux/extract-vmlinux \
	$(shell find tools/linux/rootfs -type f)
LINUX_CHECK_INITRD := $(LINUX_OUT)/initramfs-check.cpio.gz

# The guest's first program for the boot-time benchmark: its own flags,
# static and without a C library (never the project's sanitizers).
$(LINUX_OUT)/boot-timer: tools/linux/boot-timer.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -static -nostdlib -fno-pie -no-pie \
		-fno-stack-protector -fcf-protection=none \
		-fno-asynchronous-unwind-tables -Wall -Wextra -Werror \
		-Wmissing-prototypes -Wstrict-prototypes -o $@ $<

$(LINUX_STAMP): $(LINUX_TOOLS) $(LINUX_OUT)/boot-timer tests/linux/linux.mk
	tools/linux/mkinitramfs -a $(LINUX_OUT)/boot-timer:sbin/boot-timer \
		$(LINUX_OUT)
	@touch $@

# The check image: the run image plus the guest's half of the checks as
# /etc/rc.local, appended as a second archive.
$(LINUX_CHECK_INITRD): $(LINUX_STAMP) tests/linux/guest-check
	tools/linux/mkinitramfs --overlay $(LINUX_OUT)/check-overlay.cpio.gz \
		tests/linux/guest-check:etc/rc.local
	cat $(LINUX_OUT)/initramfs.cpio.gz $(LINUX_OUT)/check-overlay.cpio.gz \
		>$@

linux: $(LINUX_STAMP)

run-linux: $(BUILD)/bhyve $(LINUX_STAMP)
	tools/linux/run $(BUILD)

check-linux: $(BUILD)/bhyve $(LINUX_STAMP) $(LINUX_CHECK_INITRD)
	tests/linux/run-checks $(BUILD)

check-linux-auto: $(BUILD)/bhyve
	@if tools/linux/mkinitramfs --fetch; then \
		$(MAKE) --no-print-directory check-linux; \
	else \
		echo "SKIP check-linux (apt-get download of linux-image-amd64" \
			"and busybox-static failed)"; \
	fi

bench-linux: $(BUILD)/bhyve $(LINUX_STAMP) $(BUILD)/bench/linux-boot
	bench/linux-compare $(BUILD)

.PHONY: linux run-linux check-linux check-linux-auto bench-linux
