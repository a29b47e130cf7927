/*
 * shoalctl: the command line of shoald's API, for operators and deploy
 * scripts.  This file holds the command table, the options every command
 * takes, the usage text and main(); the commands live in the other files of shoalctl/.
 * Its exit codes (ctl.h) are a contract: scripts test them.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "config.h"
#include "shoalctl/ctl.h"

static const struct ctl_cmd cmds[] = {
	{ "deploy", ctl_cmd_deploy, "deploy [-f FILE|-] [--name NAME] [--image IMAGE] [OPTION...]",
	  "deploy a guest from a JSON spec file and/or flags; a local image is uploaded",
	  "  -f, --file FILE      the guest spec as JSON (- for stdin); a relative image path in "
	  "it\n"
	  "                       is taken from the file's folder\n"
	  "  -n, --name NAME      the guest's name\n"
	  "  -i, --image IMAGE    a local ELF file (uploaded first), the sha256 of an uploaded "
	  "image,\n"
	  "                       or with --no-upload a path on the daemon's host\n"
	  "  -m, --memory MIB     memory in MiB (even; suffixes M and G are understood)\n"
	  "      --vcpus N        vCPUs\n"
	  "  -a, --arg ARG        a guest argument; repeat for more (replaces the file's args)\n"
	  "      --class CLASS    latency or batch\n"
	  "      --slo-us US      the latency objective in microseconds\n"
	  "      --restart POLICY never, on-failure or always\n"
	  "      --cpus LIST      pin to CPUs, e.g. 0,2-3 (\"\" lets shoald place the guest)\n"
	  "  -d, --disk NAME=IMAGE[:rw]\n"
	  "                       a disk the guest opens by NAME: a local file (uploaded as a\n"
	  "                       disk), a disk image's sha256, or with --no-upload a path on\n"
	  "                       the daemon's host; read-only and shared unless :rw (then the\n"
	  "                       guest's own copy); repeat for more (replaces the file's disks)\n"
	  "      --net NAME=BRIDGE[,ipv4=A.B.C.D/P][,mac=XX:XX:XX:XX:XX:XX]\n"
	  "                       a NIC the guest opens by NAME on an allowed BRIDGE; its address\n"
	  "                       and MAC come from the bridge's pool unless given; repeat for\n"
	  "                       more (replaces the file's)\n"
	  "      --no-upload      send the image and disk paths as they are, for the daemon to "
	  "read\n"
	  "      --no-wait        answer at once instead of once the guest runs\n" },
	{ "ls", ctl_cmd_ls, "ls",
	  "list the guests: a table, or the server's JSON array with --json", "" },
	{ "show", ctl_cmd_show, "show NAME", "a guest's spec, state, last exit and deploy history",
	  "" },
	{ "start", ctl_cmd_action, "start NAME [--no-wait]",
	  "start a stopped guest (answers once it runs)",
	  "      --no-wait        answer at once\n" },
	{ "stop", ctl_cmd_action, "stop NAME [--no-wait]",
	  "stop a guest (answers once it has stopped)", "      --no-wait        answer at once\n" },
	{ "restart", ctl_cmd_action, "restart NAME [--no-wait]", "stop a guest and start it again",
	  "      --no-wait        answer at once\n" },
	{ "rollback", ctl_cmd_action, "rollback NAME [--no-wait]",
	  "deploy the guest's previous spec and image again",
	  "      --no-wait        answer at once\n" },
	{ "pause", ctl_cmd_action, "pause NAME",
	  "hold a running guest's vCPUs (it keeps its memory and place; not probed)", "" },
	{ "resume", ctl_cmd_action, "resume NAME", "let a paused guest run on", "" },
	{ "rm", ctl_cmd_rm, "rm NAME", "stop a guest and forget it", "" },
	{ "console", ctl_cmd_console, "console NAME [--tail BYTES] [-f]",
	  "the guest's console, kept after it ended",
	  "  -t, --tail BYTES     only the last BYTES (suffixes K and M are understood)\n"
	  "  -f, --follow         keep printing new output until the guest is deleted or Ctrl-C\n"
	  "                       (exit 0)\n" },
	{ "host", ctl_cmd_host, "host", "the host: CPUs, memory, guests, limits, backend", "" },
	{ "events", ctl_cmd_events, "events [-f] [--since ID] [--limit N]", "the event log",
	  "  -f, --follow         keep printing new events until Ctrl-C (exit 0) or shoald stops\n"
	  "                       (exit 3)\n"
	  "  -s, --since ID       only events after event ID\n"
	  "  -l, --limit N        at most N events (default 100; with -f, 10 before following)\n" },
	{ "images", ctl_cmd_images, "images", "the images in shoald's image store", "" },
	{ "upload", ctl_cmd_upload, "upload [--disk|--kind KIND] FILE",
	  "upload an image (a guest's ELF file, or a disk); prints its sha256",
	  "      --kind KIND      guest (the default) or disk (raw 512-byte sectors)\n"
	  "      --disk           the same as --kind disk\n" },
	{ "site", ctl_cmd_site,
	  "site build DIR -o OUTDIR [--disk-size SIZE]\n"
	  "       shoalctl site deploy NAME DIR [--image GUEST] [--net ...] [OPTION...]",
	  "a static site: DIR as FAT images (build), or those deployed with the site guest",
	  "  -o, --output OUTDIR  (build) where the images go: OUTDIR/site0.img, site1.img, ...\n"
	  "      --disk-size SIZE the most an image may hold, FAT included (default 1G;\n"
	  "                       K, M and G are understood); a larger site is split, each\n"
	  "                       file in one image, each image with the directories it needs\n"
	  "  -i, --image GUEST    (deploy) the site guest: a local ELF file or an uploaded\n"
	  "                       image's sha256 (default: $SHOAL_GUESTS/site.kvm, else\n"
	  "                       " CTL_GUESTDIR "/site.kvm)\n"
	  "      --net NAME=BRIDGE[,ipv4=A.B.C.D/P][,mac=XX:XX:XX:XX:XX:XX]\n"
	  "                       (deploy) a NIC, as deploy --net; repeat for more\n"
	  "  -m, --memory MIB     (deploy) memory in MiB (default: shoald's)\n"
	  "  -a, --arg ARG        (deploy) a guest argument (the site guest takes port=N)\n"
	  "      --vcpus N        (deploy) vCPUs\n"
	  "      --cpus LIST      (deploy) pin to CPUs, e.g. 0,2-3\n"
	  "      --no-wait        (deploy) answer at once instead of once the guest runs\n" },
	{ "latency", ctl_cmd_latency, "latency [--buckets 10s|60s|all] NAME",
	  "a guest's probe latency: the 10 s and 60 s windows and a histogram",
	  "  -b, --buckets SPAN   the histogram's span: 10s, 60s (default) or all, since the\n"
	  "                       guest was registered\n" },
	{ "top", ctl_cmd_top, "top [--interval S] [-n COUNT]",
	  "a live table of the guests, worst 10 s p99 latency first",
	  "  -i, --interval S     seconds between refreshes (default 1)\n"
	  "  -n, --count COUNT    refresh COUNT times, then exit (default: until Ctrl-C)\n" },
	{ "placement", ctl_cmd_placement, "placement",
	  "the CPU map: each CPU's role and guests, and the control loop's last moves with their "
	  "reasons",
	  "" },
	{ "metrics", ctl_cmd_metrics, "metrics",
	  "shoald's /metrics, the Prometheus text: per-guest latency, devices' counters, placement",
	  "" },
	{ "pin", ctl_cmd_pin, "pin NAME CPUS",
	  "pin a guest to CPUs (a list like 0,2-3); shoald never moves it", "" },
	{ "unpin", ctl_cmd_pin, "unpin NAME", "remove a guest's pin: shoald places it again", "" },
	{ "ui", ctl_cmd_ui, "ui [--listen ADDRESS:PORT]",
	  "the web dashboard: forward a loopback port to shoald's socket and print its URL",
	  "  -l, --listen ADDR:PORT  where to listen (default 127.0.0.1:8470; port 0: any free "
	  "one);\n"
	  "                       loopback only, and only the user running it (or root) may "
	  "connect\n" },
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "NAME\n"
	           "    shoalctl - drive shoald, the shoal unikernel daemon, through its API\n"
	           "\n"
	           "SYNOPSIS\n"
	           "    shoalctl [--socket PATH] [--json] [--timeout S] COMMAND [ARG...]\n"
	           "    shoalctl --url https://HOST:PORT --token-file FILE [--cacert FILE] COMMAND "
	           "[ARG...]\n"
	           "    shoalctl COMMAND --help\n"
	           "\n"
	           "COMMANDS\n");
	for (i = 0; i < NCMDS; i++)
		fprintf(f, "    %-10s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(
	    f,
	    "\n"
	    "OPTIONS (before or after the command)\n"
	    "    --socket PATH  shoald's API socket (default: $SHOAL_SOCKET, "
	    "else " CTL_DEFAULT_SOCKET ")\n"
	    "    --url URL      shoald's TCP listener, https://HOST:PORT (default: $SHOAL_URL, "
	    "else the\n"
	    "                   socket); shoald serves TCP only with TLS and a bearer token\n"
	    "    --token-file FILE  the bearer token for --url: the file's first line \"TOKEN "
	    "[NAME]\"\n"
	    "                   (default: $SHOAL_TOKEN_FILE); it must not be readable by others\n"
	    "    --cacert FILE  the CA certificate that signed shoald's (default: $SHOAL_CACERT, "
	    "else\n"
	    "                   the system's CAs)\n"
	    "    --json         print the server's JSON unchanged, for scripts\n"
	    "    --timeout S    give up on a request after S seconds (default 60; 0: never);\n"
	    "                   a stream (-f) bounds only its connection\n"
	    "    -h, --help     this text\n"
	    "    --version      shoalctl's version\n"
	    "\n"
	    "EXIT STATUS\n"
	    "    0  done\n"
	    "    1  shoald refused the request (4xx); its message, code and field go to stderr as\n"
	    "       \"shoalctl: MESSAGE (CODE, field FIELD)\"\n"
	    "    2  usage error: a bad flag or argument, an unknown command, or bad input caught\n"
	    "       before anything was sent (a spec file that is not JSON, a missing image file)\n"
	    "    3  cannot reach shoald: no socket, connection refused, no answer in time, a TLS\n"
	    "       certificate not trusted, or the connection lost\n"
	    "    4  not found (404): no such guest, image or route\n"
	    "    5  shoald failed (5xx)\n"
	    "\n"
	    "ENVIRONMENT\n"
	    "    SHOAL_SOCKET   the API socket when --socket is not given\n"
	    "    SHOAL_URL, SHOAL_TOKEN_FILE, SHOAL_CACERT  --url, --token-file and --cacert when "
	    "not given\n"
	    "\n"
	    "See `shoalctl COMMAND --help` for a command's options.\n");
}

static void cmd_usage(const struct ctl_cmd *cmd, FILE *f)
{
	fprintf(f, "usage: shoalctl %s\n  %s\n", cmd->synopsis, cmd->summary);
	if (cmd->options[0])
		fprintf(f, "options:\n%s", cmd->options);
	fprintf(
	    f,
	    "and --socket PATH, --url URL, --token-file FILE, --cacert FILE, --json, --timeout S\n"
	    "(see shoalctl --help)\n");
}

static int set_socket(const struct ctl_cmd *cmd, struct ctl *c, const char *path)
{
	struct sockaddr_un sa;

	if (!path[0])
		return ctl_usage_error(cmd, "the socket path is empty");
	if (strlen(path) >= sizeof(sa.sun_path))
		return ctl_usage_error(
		    cmd,
		    "the socket path %s is longer than %zu bytes, the most a unix socket takes",
		    path, sizeof(sa.sun_path) - 1);
	c->socket_path = path;
	return 0;
}

static int set_url(const struct ctl_cmd *cmd, struct ctl *c, const char *url)
{
	static char buf[1024];
	size_t n = strlen(url);

	if (strncmp(url, "https://", 8) != 0 || n == 8)
		return ctl_usage_error(
		    cmd,
		    "--url must be https://HOST:PORT, not \"%s\": shoald serves TCP only with TLS",
		    url);
	if (n >= sizeof(buf) || strchr(url + 8, '/') != strrchr(url + 8, '/') ||
	    (strchr(url + 8, '/') && strchr(url + 8, '/')[1]))
		return ctl_usage_error(
		    cmd, "--url takes only https://HOST:PORT, without a path, not \"%s\"", url);
	memcpy(buf, url, n + 1);
	if (buf[n - 1] == '/')
		buf[n - 1] = '\0';
	c->url = buf;
	return 0;
}

static int set_file(const struct ctl_cmd *cmd, const char *opt, const char **dst, const char *path)
{
	if (!path[0])
		return ctl_usage_error(cmd, "%s is empty", opt);
	*dst = path;
	return 0;
}

int ctl_opt_common(struct ctl *c, const struct ctl_cmd *cmd, int ch, char **argv)
{
	switch (ch) {
	case CTL_OPT_JSON:
		c->json = 1;
		return 0;
	case CTL_OPT_SOCKET:
		return set_socket(cmd, c, optarg);
	case CTL_OPT_URL:
		return set_url(cmd, c, optarg);
	case CTL_OPT_TOKEN_FILE:
		return set_file(cmd, "--token-file", &c->token_file, optarg);
	case CTL_OPT_CACERT:
		return set_file(cmd, "--cacert", &c->cacert, optarg);
	case CTL_OPT_TIMEOUT:
		return ctl_parse_seconds(cmd, "--timeout", optarg, &c->timeout_s);
	case CTL_OPT_HELP:
		cmd_usage(cmd, stdout);
		return 1;
	case ':':
		if (optopt)
			return ctl_usage_error(cmd, "option -%c needs a value", optopt);
		return ctl_usage_error(cmd, "option %s needs a value", argv[optind - 1]);
	case '?':
		if (optopt)
			return ctl_usage_error(cmd, "unknown option -%c", optopt);
		return ctl_usage_error(cmd, "unknown option %s", argv[optind - 1]);
	default:
		return ctl_usage_error(cmd, "option %s is not handled", argv[optind - 1]);
	}
}

int ctl_opts_only(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	static const struct option lo[] = { CTL_GLOBAL_LONGOPTS, { NULL, 0, NULL, 0 } };
	int ch, rc;

	while ((ch = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		rc = ctl_opt_common(c, cmd, ch, argv);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int ctl_want_args(const struct ctl_cmd *cmd, int argc, char **argv, int want, const char *what)
{
	int have = argc - optind;

	if (have < want)
		return ctl_usage_error(cmd, "%s is missing", what ? what : "an argument");
	if (have > want)
		return ctl_usage_error(cmd, "unexpected argument \"%s\"", argv[optind + want]);
	return 0;
}

int ctl_simple(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv,
               const struct ctl_simple *req)
{
	int rc;

	rc = ctl_opts_only(c, cmd, argc, argv);
	if (rc == 0)
		rc = req->name_arg ? ctl_want_name(cmd, argc, argv)
		                   : ctl_want_args(cmd, argc, argv, 0, NULL);
	if (rc != 0)
		return rc;
	return ctl_simple_send(c, req, req->name_arg ? argv[optind] : NULL, NULL);
}

int ctl_simple_send(struct ctl *c, const struct ctl_simple *req, const char *name,
                    const char *query)
{
	struct ctl_answer a;
	char path[160];
	int rc;

	snprintf(path, sizeof(path), "%s%s%s%s", req->path, name ? name : "",
	         req->suffix ? req->suffix : "", query ? query : "");
	rc = ctl_http(c, req->method, path, NULL, &a);
	if (rc < 0)
		return rc;
	if (c->json)
		ctl_print_raw(&a);
	else
		rc = req->show(a.json, name);
	ctl_answer_free(&a);
	return rc;
}

int ctl_want_name(const struct ctl_cmd *cmd, int argc, char **argv)
{
	int rc;

	rc = ctl_want_args(cmd, argc, argv, 1, "the guest's NAME");
	if (rc == 0)
		rc = ctl_check_name(cmd, argv[optind]);
	return rc;
}

static const struct ctl_cmd *find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < NCMDS; i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = { CTL_GLOBAL_LONGOPTS,
		                            { "version", no_argument, NULL, 'V' },
		                            { NULL, 0, NULL, 0 } };
	struct ctl c = { .timeout_s = CTL_DEFAULT_TIMEOUT, .fd = -1 };
	const struct ctl_cmd *cmd;
	const char *env = getenv("SHOAL_SOCKET");
	int ch, rc;

	rc = set_socket(NULL, &c, env && env[0] ? env : CTL_DEFAULT_SOCKET);
	if (rc < 0)
		return -rc;
	env = getenv("SHOAL_URL");
	if (env && env[0] && (rc = set_url(NULL, &c, env)) < 0)
		return -rc;
	env = getenv("SHOAL_TOKEN_FILE");
	if (env && env[0])
		c.token_file = env;
	env = getenv("SHOAL_CACERT");
	if (env && env[0])
		c.cacert = env;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:h", lo, NULL)) != -1) {
		if (ch == 'V') {
			printf("shoalctl %s\n", PACKAGE_VERSION);
			return 0;
		}
		if (ch == CTL_OPT_HELP) {
			usage(stdout);
			return 0;
		}
		rc = ctl_opt_common(&c, NULL, ch, argv);
		if (rc < 0)
			return -rc;
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (!strcmp(argv[optind], "help")) {
		cmd = optind + 1 < argc ? find_cmd(argv[optind + 1]) : NULL;
		if (optind + 1 < argc && !cmd)
			return -ctl_usage_error(NULL, "unknown command \"%s\"", argv[optind + 1]);
		if (cmd)
			cmd_usage(cmd, stdout);
		else
			usage(stdout);
		return 0;
	}
	cmd = find_cmd(argv[optind]);
	if (!cmd)
		return -ctl_usage_error(NULL, "unknown command \"%s\"", argv[optind]);
	argc -= optind;
	argv += optind;
	optind = 0; /* a fresh getopt for the command's own options */
	rc = cmd->run(&c, cmd, argc, argv);
	ctl_http_done(&c);
	if (fflush(stdout) != 0 && rc == 0)
		rc = ctl_fail(CTL_EXIT_FAILED, "cannot write the output: %s", strerror(errno));
	return rc > 0 ? 0 : -rc;
}
