/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The per-VM control socket that bhyvectl talks to, served from the event
 * loop.
 */
#ifndef CTL_H
#define CTL_H

struct bhyve_vm;

/* Listen on <rundir>/<name>; -1 with bvm->err if that is impossible. */
int bhyve_ctl_start(struct bhyve_vm *bvm);
/* Close the socket and remove its file; safe if never started. */
void bhyve_ctl_stop(struct bhyve_vm *bvm);

#endif /* CTL_H */
