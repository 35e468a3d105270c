/* SPDX-License-Identifier: Apache-2.0 */
/* shim_loop.h - the shim's state and its poll loop (loop.c). */
#ifndef SHOAL_SHIM_LOOP_H
#define SHOAL_SHIM_LOOP_H

#include "../runtime/runtime.h"
#include "shim.h"

struct client;

/* A process whose stdio the shim holds: init or an exec. */
struct proc {
	struct rt_proc rp;
	bool is_init;
	bool exited;
	int exit_code, signal;
	int64_t exited_ms;              /* CLOCK_MONOTONIC */
	struct buf in;                  /* stdin not yet written */
	bool in_eof;                    /* close stdin once in is written */
	bool out_eof, err_eof;
	struct client *owner;           /* exec: its client */
	struct proc *next;
};

enum client_state { C_REQ, C_WAIT, C_ATTACH, C_EXEC_START, C_EXEC, C_CLOSING };

struct client {
	int fd;
	enum client_state state;
	struct buf in, out;
	bool want_out, want_err, want_in, rd_eof, dead;
	struct proc *proc;              /* exec */
	struct rt_pending pend;         /* C_EXEC_START: its setup */
	int64_t deadline_ms;            /* C_EXEC_START: give up then */
	struct client *next;
};

struct shim {
	struct rt_config cfg;
	const char *cgroup;             /* NULL: none */
	int listen_fd, sig_fd;
	struct jlog log;
	struct proc *procs;             /* init first */
	struct client *clients;
	bool paused;
	bool freezer_v1;                /* paused once with the v1 freezer */
};

void shim_add_init(struct shim *s, const struct rt_proc *init);
void shim_run(struct shim *s);       /* returns once init exited, all done */

#endif
