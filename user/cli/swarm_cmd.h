/* SPDX-License-Identifier: Apache-2.0 */
/*
 * swarm_cmd.h - swarm mode in the `shoal` CLI: `swarm` (swarm.c) and
 * `node` (node.c), Docker's verb groups over /swarm and /nodes, and the
 * "Swarm:" section of `shoal info`.
 */
#ifndef SHOAL_CLI_SWARM_CMD_H
#define SHOAL_CLI_SWARM_CMD_H

#include <jansson.h>

#include "cli.h"

int cmd_swarm(struct cli_ctx *ctx, int argc, char **argv); /* swarm ... */
int cmd_node(struct cli_ctx *ctx, int argc, char **argv);  /* node ...  */

/*
 * `docker info`'s " Swarm: <state>" block from GET /info's "Swarm" object,
 * plus the gossip counters of "Shoal"."Gossip" (info: the whole /info
 * object). Prints " Swarm: inactive" when there is no Swarm object.
 */
void swarm_print_info(json_t *info);

#endif
