/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for the vmm's ISA chips: the 8259 pair, 8254, RTC and
 * PM timer wired as the vmm wires them (PIT and RTC interrupts into the
 * PIC) on a manual clock, driven by a script of 4-byte steps:
 *
 *	op a b c	op % 8: 0 port write, 1 port read, 2 advance time,
 *			3 vmm acknowledge, 4 IRQ line, 5 trigger mode,
 *			6 RTC time get/set, 7 NVRAM read/write
 *
 * Virtual time per input is capped, so an input cannot make a run slow
 * by asking for hours of 10 kHz timer callouts.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "io/vatpic.h"
#include "io/vatpit.h"
#include "io/vpmtmr.h"
#include "io/vrtc.h"

#define FUZZ_MAX_NS (2 * NS_PER_SEC)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct rig {
	struct vmm_timebase *tb;
	struct vatpic *pic;
	struct vatpit *pit;
	struct vrtc *rtc;
	struct vpmtmr *pm;
	uint64_t spent_ns;
	unsigned intr_changes;
};

static void
rig_irq(void *arg, int irq, enum vmm_irq_op op)
{
	struct rig *r = arg;

	(void)vatpic_set_irq(r->pic, irq, op);
}

static void
rig_intr(void *arg, bool line)
{
	struct rig *r = arg;

	r->intr_changes += line;
}

static const uint16_t rig_ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1,
	0x40, 0x41, 0x42, 0x43, 0x61, 0x70, 0x71, 0x408, 0x409, 0x40a,
	0x40b };

static int
rig_port(struct rig *r, bool in, uint16_t port, int bytes, uint32_t *val)
{
	if (port < 0x40)
		return vatpic_master_handler(r->pic, in, port, bytes, val);
	if (port < 0x61)
		return vatpit_handler(r->pit, in, port, bytes, val);
	if (port == 0x61)
		return vatpit_nmisc_handler(r->pit, in, port, bytes, val);
	if (port < 0xa0)
		return vrtc_handler(r->rtc, in, port, bytes, val);
	if (port < 0x400)
		return vatpic_slave_handler(r->pic, in, port, bytes, val);
	if (port < 0x4d0)
		return vpmtmr_handler(r->pm, in, port, bytes, val);
	return vatpic_elcr_handler(r->pic, in, port, bytes, val);
}

static void
rig_advance(struct rig *r, uint8_t a, uint8_t b, uint8_t c)
{
	uint64_t ns = (uint64_t)(a | b << 8) << (c % 20);

	if (ns > FUZZ_MAX_NS - r->spent_ns)
		ns = FUZZ_MAX_NS - r->spent_ns;
	r->spent_ns += ns;
	vmm_timebase_advance(r->tb, ns);
}

static void
rig_step(struct rig *r, const uint8_t *s)
{
	uint16_t port = rig_ports[s[1] % (sizeof(rig_ports) / 2)];
	uint32_t val = s[3] | (uint32_t)s[2] << 8;
	uint8_t nv;
	int vec;

	switch (s[0] % 8) {
	case 0:
	case 1:
		(void)rig_port(r, s[0] % 8 == 1, port, 1 << (s[2] % 4), &val);
		break;
	case 2:
		rig_advance(r, s[1], s[2], s[3]);
		break;
	case 3:
		if (vatpic_pending_intr(r->pic, &vec) || (s[1] & 1))
			vatpic_intr_accepted(r->pic, (s[1] & 2) ? s[2] : vec);
		break;
	case 4:
		(void)vatpic_set_irq(r->pic, s[1] % 18 - 1,
		    (enum vmm_irq_op)(s[2] % 4));
		break;
	case 5:
		(void)vatpic_set_trigger(r->pic, s[1] % 17, s[2] & 1);
		break;
	case 6:
		(void)vrtc_get_time(r->rtc);
		(void)vrtc_set_time(r->rtc, (time_t)((int64_t)(int8_t)s[1] *
		    ((int64_t)s[2] << 24 | s[3])));
		break;
	default:
		nv = s[3];
		if (s[2] & 1)
			(void)vrtc_nvram_write(r->rtc, s[1] - 8, nv);
		else
			(void)vrtc_nvram_read(r->rtc, s[1] - 8, &nv);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rig r;
	struct vmm_irq_sink sink = { .set = rig_irq, .arg = &r };

	memset(&r, 0, sizeof(r));
	r.tb = vmm_timebase_create_manual(0);
	if (r.tb == NULL)
		return 0;
	r.pic = vatpic_create(rig_intr, &r);
	r.pit = vatpit_create(r.tb, &sink);
	r.rtc = vrtc_create(r.tb, &sink, 1709214356, false, 3ULL << 30,
	    1ULL << 30);
	r.pm = vpmtmr_create(r.tb);
	if (r.pic != NULL && r.pit != NULL && r.rtc != NULL && r.pm != NULL)
		for (size_t i = 0; i + 4 <= size; i += 4)
			rig_step(&r, data + i);
	/* The PIC goes last: the other chips' callouts drive it. */
	vpmtmr_destroy(r.pm);
	vrtc_destroy(r.rtc);
	vatpit_destroy(r.pit);
	vatpic_destroy(r.pic);
	vmm_timebase_destroy(r.tb);
	return 0;
}
