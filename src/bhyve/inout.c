/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Port I/O and MMIO exits.  An access no device claims gets what an ISA
 * bus or an empty PCI hole gives (reads of all ones, writes dropped),
 * unless x86.strictio (-e) asks to stop the VM instead.
 *
 * String I/O: the vmm has done the guest-memory side (see struct
 * vm_inout_str), so here it is a loop of single port accesses.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "inout.h"
#include "iomem.h"

static uint64_t
width_mask(int bytes)
{
	return bytes >= 8 ? ~0ULL : (1ULL << (bytes * 8)) - 1;
}

/* One port access; *val in/out.  false: unhandled under strict I/O. */
static bool
port_access(struct bhyve_vm *bvm, struct vcpu *vcpu, bool in,
    uint16_t port, int bytes, uint64_t *val)
{
	int error;

	if (!in)
		*val &= width_mask(bytes);
	error = io_dispatch(bvm->ports, vcpu, !in, port, bytes, val);
	if (error) {
		if (bvm->strictio) {
			fprintf(stderr, "bhyve: unhandled %s of %d byte%s at "
			    "port 0x%x\n", in ? "in" : "out", bytes,
			    bytes > 1 ? "s" : "", port);
			return false;
		}
		if (in)
			*val = ~0ULL;
	}
	if (in)
		*val &= width_mask(bytes);
	return true;
}

static enum vmexit_action
emulate_inout_str(struct bhyve_vm *bvm, struct vcpu *vcpu,
    struct vm_inout_str *s)
{
	int bytes = s->inout.bytes;

	for (uint32_t i = 0; i < s->count; i++) {
		uint8_t *elem = s->data + (size_t)i * (size_t)bytes;
		uint64_t val = 0;

		if (!s->inout.in)
			memcpy(&val, elem, (size_t)bytes);
		if (!port_access(bvm, vcpu, s->inout.in, s->inout.port, bytes,
		    &val))
			return VMEXIT_ABORT;
		if (s->inout.in)
			memcpy(elem, &val, (size_t)bytes);
	}
	return VMEXIT_CONTINUE;
}

enum vmexit_action
emulate_inout(struct bhyve_vm *bvm, struct vcpu *vcpu, struct vm_exit *vme)
{
	struct vm_inout *io = &vme->u.inout;
	uint64_t val = io->eax;

	if (vme->exitcode == VM_EXITCODE_INOUT_STR)
		return emulate_inout_str(bvm, vcpu, &vme->u.inout_str);
	if (!port_access(bvm, vcpu, io->in, io->port, io->bytes, &val))
		return VMEXIT_ABORT;
	if (io->in)
		io->eax = (uint32_t)val;
	return VMEXIT_CONTINUE;
}

enum vmexit_action
emulate_mmio(struct bhyve_vm *bvm, struct vcpu *vcpu, struct vm_exit *vme)
{
	struct vm_mmio *m = &vme->u.mmio;
	uint64_t val = m->write ? m->data & width_mask(m->bytes) : 0;
	int error = io_dispatch(bvm->mmio, vcpu, m->write, m->gpa, m->bytes,
	    &val);

	if (error) {
		if (bvm->strictio) {
			fprintf(stderr, "bhyve: unhandled %s of %d byte%s at "
			    "gpa 0x%llx\n", m->write ? "write" : "read",
			    m->bytes, m->bytes > 1 ? "s" : "",
			    (unsigned long long)m->gpa);
			return VMEXIT_ABORT;
		}
		val = ~0ULL;
	}
	if (!m->write)
		m->data = val & width_mask(m->bytes);
	return VMEXIT_CONTINUE;
}
