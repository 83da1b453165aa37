/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vmm.backend=auto.  KVM is the fast backend only where the processor
 * has hardware virtualization: a nested host that emulates ring 0 (the
 * project's build machines, see the platform notes) offers a working
 * /dev/kvm without vmx or svm in its CPU flags, and runs kernel code
 * there about a thousand times slower than the software VT-x model.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm_backend.h"

/* A "flags" line of /proc/cpuinfo naming vmx or svm. */
static bool
vmm_cpuinfo_has_hv(const char *path)
{
	char line[8192], *save = NULL, *tok;
	FILE *f = fopen(path, "re");
	bool found = false;

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "flags", 5) != 0 || strchr(line, ':') == NULL)
			continue;
		for (tok = strtok_r(strchr(line, ':') + 1, " \t\n", &save);
		    tok != NULL && !found; tok = strtok_r(NULL, " \t\n", &save))
			found = strcmp(tok, "vmx") == 0 ||
			    strcmp(tok, "svm") == 0;
	}
	fclose(f);
	return found;
}

static bool
vmm_kvm_usable(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	ok = ioctl(fd, KVM_GET_API_VERSION, 0) == KVM_API_VERSION;
	close(fd);
	return ok;
}

const char *
vmm_backend_pick(const char *cpuinfo, const char *kvm)
{
	if (vmm_cpuinfo_has_hv(cpuinfo) && vmm_kvm_usable(kvm))
		return "kvm";
	return "vtx";
}

const char *
vmm_backend_auto(void)
{
	return vmm_backend_pick("/proc/cpuinfo", "/dev/kvm");
}
