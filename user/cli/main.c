// SPDX-License-Identifier: Apache-2.0
/*
 * main.c - `shoal`, the command-line client of shoald. Its grammar is
 * Docker's: global options, then a verb (or a verb group and a verb):
 *
 *   shoal [-H unix:///path] VERB [OPTIONS] [ARGS]
 *
 * Each verb lives in its own file; this one holds the commands[] table,
 * the global options and the top-level help.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/names.h"
#include "cli.h"
#include "container_cmd.h"
#include "image_cmd.h"
#include "swarm_cmd.h"

static int cmd_help(struct cli_ctx *ctx, int argc, char **argv);

static const struct cli_cmd commands[] = {
	{ "attach", cmd_attach, "Attach local standard input, output, and error streams to a running container", NULL },
	{ "container", cmd_container, "Manage containers", NULL },
	{ "cp", cmd_cp, "Copy files/folders between a container and the local filesystem", NULL },
	{ "create", cmd_create, "Create a new container", NULL },
	{ "diff", cmd_diff, "Inspect changes to files or directories on a container's filesystem", NULL },
	{ "exec", cmd_exec, "Execute a command in a running container", NULL },
	{ "export", cmd_export, "Export a container's filesystem as a tar archive", NULL },
	{ "flows", cmd_flows, "Display the top network flows of containers", NULL },
	{ "help", cmd_help, "Show help for shoal or one of its commands", NULL },
	{ "image", cmd_image, "Manage images", NULL },
	{ "images", cmd_images, "List images", NULL },
	{ "import", cmd_import, "Import the contents from a tarball to create a filesystem image", NULL },
	{ "info", cmd_info, "Display system-wide information", NULL },
	{ "inspect", cmd_inspect, "Return low-level information on shoal objects", NULL },
	{ "kill", cmd_kill, "Kill one or more running containers", NULL },
	{ "load", cmd_load, "Load an image from a tar archive or STDIN", NULL },
	{ "logs", cmd_logs, "Fetch the logs of a container", NULL },
	{ "monitor", cmd_monitor, "Display live drop and flow events from the data path", NULL },
	{ "network", cmd_network, "Manage networks", NULL },
	{ "node", cmd_node, "Manage Swarm nodes", NULL },
	{ "pause", cmd_pause, "Pause all processes within one or more containers", NULL },
	{ "port", cmd_port, "List port mappings or a specific mapping for the container", NULL },
	{ "ps", cmd_ps, "List containers", NULL },
	{ "pull", cmd_pull, "Download an image from a registry", NULL },
	{ "rename", cmd_rename, "Rename a container", NULL },
	{ "restart", cmd_restart, "Restart one or more containers", NULL },
	{ "rm", cmd_rm, "Remove one or more containers", NULL },
	{ "rmi", cmd_rmi, "Remove one or more images", NULL },
	{ "run", cmd_run, "Create and run a new container from an image", NULL },
	{ "save", cmd_save, "Save one or more images to a tar archive (streamed to STDOUT by default)", NULL },
	{ "start", cmd_start, "Start one or more stopped containers", NULL },
	{ "stats", cmd_stats, "Display a live stream of container(s) resource usage statistics", NULL },
	{ "stop", cmd_stop, "Stop one or more running containers", NULL },
	{ "swarm", cmd_swarm, "Manage Swarm", NULL },
	{ "system", cmd_system, "Manage shoal", NULL },
	{ "tag", cmd_tag, "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", NULL },
	{ "top", cmd_top, "Display the processes of a container, or network rates of all (no CONTAINER)", NULL },
	{ "unpause", cmd_unpause, "Unpause all processes within one or more containers", NULL },
	{ "version", cmd_version, "Show the shoal version information", NULL },
	{ "volume", cmd_volume, "Manage volumes", NULL },
	{ "wait", cmd_wait, "Block until one or more containers stop, then print their exit codes", NULL },
	{ NULL, NULL, NULL, NULL },
};

enum { OPT_HOST = 'H', OPT_VERSION = 'v', OPT_DEBUG = 'D', OPT_LOGLEVEL = 'l' };

static const struct cli_opt global_opts[] = {
	{ OPT_DEBUG, 'D', "debug", NULL, "Enable debug mode" },
	{ OPT_HOST, 'H', "host", "string",
	  "Daemon socket to connect to (default \"" CLI_DEFAULT_HOST
	  "\", or $SHOAL_HOST)" },
	{ OPT_LOGLEVEL, 'l', "log-level", "string",
	  "Set the logging level (\"debug\", \"info\", \"warn\", \"error\", \"fatal\") (default \"info\")" },
	{ OPT_VERSION, 'v', "version", NULL, "Print version information and quit" },
	{ 0, 0, NULL, NULL, NULL },
};

static void main_help(FILE *out)
{
	size_t w = 11;

	fprintf(out, "Usage:  %s [OPTIONS] COMMAND\n\n"
		     "A container host engine with an eBPF network data plane\n\n"
		     "Commands:\n", CLI_PROG);
	for (const struct cli_cmd *c = commands; c->name; c++)
		fprintf(out, "  %-*s %s\n", (int)w, c->name, c->help);
	fprintf(out, "\nGlobal Options:\n");
	cli_print_opts(global_opts, out);
	fprintf(out, "\nRun '%s COMMAND --help' for more information on a command.\n",
		CLI_PROG);
}

static const struct cli_cmd *find_cmd(const char *name)
{
	for (const struct cli_cmd *c = commands; c->name; c++)
		if (!strcmp(c->name, name) || (c->alias && !strcmp(c->alias, name)))
			return c;
	return NULL;
}

/* `shoal help [VERB [SUBVERB...]]` is `shoal VERB [SUBVERB...] --help`. */
static int cmd_help(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_cmd *c;
	char *av[5];
	int n = 0;

	if (argc < 2) {
		main_help(stdout);
		return 0;
	}
	c = find_cmd(argv[1]);
	if (!c || c->run == cmd_help) {
		if (c) {
			main_help(stdout);
			return 0;
		}
		fprintf(stderr, "Unknown help topic: %s\nSee '%s --help'.\n", argv[1],
			CLI_PROG);
		return 1;
	}
	/* Verb groups nest two deep: `help network peer add`. */
	for (int i = 1; i < argc && n < 3; i++)
		av[n++] = argv[i];
	av[n++] = (char *)"--help";
	av[n] = NULL;
	return c->run(ctx, n, av);
}

int main(int argc, char **argv)
{
	struct cli_ctx ctx = { 0 };
	const struct cli_cmd *c;
	struct option lopts[8];
	const char *sopts = "+:H:vDl:h";
	int i = 0, opt;

	/* Global options stop at the verb ('+'): `shoal -H x network ls -q`. */
	for (const struct cli_opt *o = global_opts; o->id; o++, i++) {
		lopts[i].name = o->lng;
		lopts[i].has_arg = o->arg ? required_argument : no_argument;
		lopts[i].flag = NULL;
		lopts[i].val = o->id;
	}
	lopts[i++] = (struct option){ "help", no_argument, NULL, 'h' };
	lopts[i] = (struct option){ NULL, 0, NULL, 0 };
	opterr = 0;
	while ((opt = getopt_long(argc, argv, sopts, lopts, NULL)) != -1) {
		switch (opt) {
		case OPT_HOST:
			ctx.host = optarg;
			break;
		case OPT_DEBUG:
			ctx.debug = true;
			break;
		case OPT_LOGLEVEL:
			break; /* accepted for Docker compatibility */
		case OPT_VERSION:
			printf("%s version %s\n", CLI_PROG, SHOAL_VERSION);
			return 0;
		case 'h':
			main_help(stdout);
			return 0;
		case ':':
			if (!strncmp(argv[optind - 1], "--", 2))
				fprintf(stderr, "flag needs an argument: %s\n",
					argv[optind - 1]);
			else
				fprintf(stderr, "flag needs an argument: '%c' in -%c\n",
					optopt, optopt);
			fprintf(stderr, "See '%s --help'.\n", CLI_PROG);
			return 1;
		default:
			if (optopt)
				fprintf(stderr, "unknown shorthand flag: '%c' in -%c\n",
					optopt, optopt);
			else
				fprintf(stderr, "unknown flag: %.*s\n",
					(int)strcspn(argv[optind - 1], "="),
					argv[optind - 1]);
			fprintf(stderr, "See '%s --help'.\n", CLI_PROG);
			return 1;
		}
	}
	if (optind >= argc) {
		main_help(stdout);
		return 0;
	}
	c = find_cmd(argv[optind]);
	if (!c) {
		fprintf(stderr, "%s: '%s' is not a %s command.\nSee '%s --help'\n",
			CLI_PROG, argv[optind], CLI_PROG, CLI_PROG);
		return 1;
	}
	return c->run(&ctx, argc - optind, argv + optind);
}
