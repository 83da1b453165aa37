/* SPDX-License-Identifier: BSD-2-Clause */
/* The guest `make run` boots: what it finds itself running on. */
#include "fwcfg.h"
#include "guest.h"

#define MiB	(1ULL << 20)

static void
cpuid_string(uint32_t leaf, char out[13], bool vendor_order)
{
	uint32_t r[4];

	cpuid(leaf, 0, r);
	/* Leaf 0 spells the vendor in EBX, EDX, ECX; 0x40000000 in EBX, ECX, EDX. */
	memcpy(out, &r[1], 4);
	memcpy(out + 4, vendor_order ? &r[3] : &r[2], 4);
	memcpy(out + 8, vendor_order ? &r[2] : &r[3], 4);
	out[12] = '\0';
}

int
guest_main(struct boot_info *bi)
{
	char vendor[13], hv[13];
	uint16_t cpus = 0;
	uint64_t ram = 0;

	cpuid_string(0, vendor, true);
	cpuid_string(0x40000000, hv, false);
	if (fwcfg_present()) {
		fwcfg_select(FWCFG_NB_CPUS);
		fwcfg_read(&cpus, sizeof(cpus));
	}
	if (bi->mbi != NULL)
		ram = mb_ram_total(bi->mbi);
	printf("\n  Hello from a tiny guest kernel.\n");
	printf("  hypervisor: \"%s\"   cpu vendor: %s\n", hv, vendor);
	printf("  vcpus: %u   RAM: %lu MiB   cmdline: \"%s\"\n\n", cpus,
	    (unsigned long)((ram + MiB - 1) / MiB), bi->args);
	return guest_finish("demo");
}
