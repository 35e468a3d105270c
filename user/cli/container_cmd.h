/* SPDX-License-Identifier: Apache-2.0 */
/*
 * container_cmd.h - the container verbs of the `shoal` CLI, Docker's
 * `docker container ...` and their top-level shortcuts, over the
 * /containers and /exec API:
 *
 *   container_run.c   run, create, start, attach, exec (the streaming ones)
 *   container_ls.c    ps / container ls
 *   cp.c              cp (files in and out of a container)
 *   export.c          export, diff
 *   container.c       the group, stop/kill/restart/rm/wait/rename/top/port/
 *                     logs and the top-level inspect
 */
#ifndef SHOAL_CLI_CONTAINER_CMD_H
#define SHOAL_CLI_CONTAINER_CMD_H

#include "cli.h"
#include "client.h"

int cmd_container(struct cli_ctx *ctx, int argc, char **argv);
int cmd_run(struct cli_ctx *ctx, int argc, char **argv);
int cmd_create(struct cli_ctx *ctx, int argc, char **argv);
int cmd_start(struct cli_ctx *ctx, int argc, char **argv);
int cmd_attach(struct cli_ctx *ctx, int argc, char **argv);
int cmd_exec(struct cli_ctx *ctx, int argc, char **argv);
int cmd_ps(struct cli_ctx *ctx, int argc, char **argv);
int cmd_stop(struct cli_ctx *ctx, int argc, char **argv);
int cmd_kill(struct cli_ctx *ctx, int argc, char **argv);
int cmd_restart(struct cli_ctx *ctx, int argc, char **argv);
int cmd_rm(struct cli_ctx *ctx, int argc, char **argv);
int cmd_wait(struct cli_ctx *ctx, int argc, char **argv);
int cmd_rename(struct cli_ctx *ctx, int argc, char **argv);
int cmd_pause(struct cli_ctx *ctx, int argc, char **argv);
int cmd_unpause(struct cli_ctx *ctx, int argc, char **argv);
int cmd_top_ps(struct cli_ctx *ctx, int argc, char **argv); /* top_net.c: cmd_top */
int cmd_port(struct cli_ctx *ctx, int argc, char **argv);
int cmd_logs(struct cli_ctx *ctx, int argc, char **argv);
int cmd_inspect(struct cli_ctx *ctx, int argc, char **argv);
/* cp.c */
int cmd_cp(struct cli_ctx *ctx, int argc, char **argv);
/* export.c */
int cmd_export(struct cli_ctx *ctx, int argc, char **argv);
int cmd_diff(struct cli_ctx *ctx, int argc, char **argv);
/* `container inspect`: containers only. */
int cmd_container_inspect(struct cli_ctx *ctx, int argc, char **argv);

/* "/containers/<escaped name>" + suffix (malloc'd), NULL on failure. */
char *ctr_path(struct client *cl, const char *name, const char *suffix);

/* GET /containers/NAME/json: the object, or NULL after printing Docker's
 * error ("Error response from daemon: No such container: NAME"). */
json_t *ctr_inspect(struct client *cl, const char *name);

/*
 * Exit code of a failed start, as docker run computes it from the
 * daemon's message: 127 "not found" (executable file not found, no such
 * file or directory), 126 "not executable" (permission denied, is a
 * directory), else 125 (docker-cli's runStartContainerErr).
 */
int ctr_start_exit_code(const char *msg);

#endif
