/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image_cmd.h - the image verbs of the `shoal` CLI (image.c): the
 * `image` group and Docker's top-level shortcuts for it.
 */
#ifndef SHOAL_CLI_IMAGE_CMD_H
#define SHOAL_CLI_IMAGE_CMD_H

#include "cli.h"

int cmd_image(struct cli_ctx *ctx, int argc, char **argv);  /* image ...  */
int cmd_images(struct cli_ctx *ctx, int argc, char **argv); /* image ls   */
int cmd_load(struct cli_ctx *ctx, int argc, char **argv);   /* image load */
int cmd_import(struct cli_ctx *ctx, int argc, char **argv); /* image import */
int cmd_pull(struct cli_ctx *ctx, int argc, char **argv);   /* image pull */
int cmd_rmi(struct cli_ctx *ctx, int argc, char **argv);    /* image rm   */
int cmd_save(struct cli_ctx *ctx, int argc, char **argv);   /* image save */
int cmd_tag(struct cli_ctx *ctx, int argc, char **argv);    /* image tag  */

#endif
