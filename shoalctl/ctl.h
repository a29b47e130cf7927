/*
 * shoalctl's insides, shared by main.c and the other files of shoalctl/.  shoalctl
 * speaks to shoald only through the HTTP API (api/openapi.yaml), on its
 * unix socket or (--url) over TCP with TLS and a bearer token, so nothing
 * here includes a daemon header.
 *
 * Errors: every function returns 0 or a negative exit code (-CTL_EXIT_*)
 * after it has printed one line to stderr saying what went wrong; main()
 * turns that into the process's exit status, which scripts test.
 */
#ifndef SHOAL_CTL_H
#define SHOAL_CTL_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/* Exit codes: stable, documented in `shoalctl --help`. */
enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_REFUSED = 1,     /* shoald refused the request (4xx other than 404) */
	CTL_EXIT_USAGE = 2,       /* bad command line or input; nothing was sent */
	CTL_EXIT_UNREACHABLE = 3, /* no daemon at the socket, refused, timed out, lost */
	CTL_EXIT_NOT_FOUND = 4,   /* 404: no such guest, image or route */
	CTL_EXIT_FAILED = 5,      /* shoald failed (5xx) */
};

#define CTL_DEFAULT_SOCKET  "/run/shoal/shoald.sock"
#define CTL_DEFAULT_TIMEOUT 60.0

struct ctl {
	const char *socket_path;
	const char *url;           /* https://HOST:PORT instead of the socket; NULL: the socket */
	const char *token_file;    /* the bearer token for url (the file's first token) */
	const char *cacert;        /* the CA that signed shoald's certificate; NULL: the system's */
	char *token;               /* read from token_file before the first request */
	double timeout_s;          /* a whole request; 0: none.  Streams only bound the connect. */
	int json;                  /* --json: the server's JSON, unchanged */
	int fd;                    /* the socket's connection, kept so that `top` keeps it; -1 */
	struct ctl_remote *remote; /* libcurl's handle for url, loaded at the first request */
};

/* ---- commands and their options (shoalctl.c) ---- */

struct ctl_cmd {
	const char *name;
	int (*run)(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv);
	const char *synopsis; /* after "shoalctl " */
	const char *summary;  /* one line */
	const char *options;  /* lines "  -x, --long ARG  what", or "" */
};

/* Option values of the options every command takes (after the command too). */
enum {
	CTL_OPT_JSON = 1000,
	CTL_OPT_SOCKET,
	CTL_OPT_TIMEOUT,
	CTL_OPT_URL,
	CTL_OPT_TOKEN_FILE,
	CTL_OPT_CACERT,
	CTL_OPT_HELP = 'h',
	CTL_OPT_FIRST_LOCAL = 1100, /* commands number their own long-only options from here */
};

/* The guest-spec options deploy and site deploy share (ctl_spec_opt). */
enum {
	CTL_OPT_SPEC_MEMORY = 'm',
	CTL_OPT_SPEC_ARG = 'a',
	CTL_OPT_SPEC_VCPUS = 1090,
	CTL_OPT_SPEC_CPUS,
	CTL_OPT_SPEC_NET,
};

/* clang-format off */
#define CTL_GLOBAL_LONGOPTS \
	{ "json", no_argument, NULL, CTL_OPT_JSON }, \
	{ "socket", required_argument, NULL, CTL_OPT_SOCKET }, \
	{ "timeout", required_argument, NULL, CTL_OPT_TIMEOUT }, \
	{ "url", required_argument, NULL, CTL_OPT_URL }, \
	{ "token-file", required_argument, NULL, CTL_OPT_TOKEN_FILE }, \
	{ "cacert", required_argument, NULL, CTL_OPT_CACERT }, \
	{ "help", no_argument, NULL, CTL_OPT_HELP }
#define CTL_SPEC_LONGOPTS \
	{ "memory", required_argument, NULL, CTL_OPT_SPEC_MEMORY }, \
	{ "arg", required_argument, NULL, CTL_OPT_SPEC_ARG }, \
	{ "vcpus", required_argument, NULL, CTL_OPT_SPEC_VCPUS }, \
	{ "cpus", required_argument, NULL, CTL_OPT_SPEC_CPUS }, \
	{ "net", required_argument, NULL, CTL_OPT_SPEC_NET }
/* clang-format on */

/*
 * For a command's getopt_long loop: ch as one of the shared spec options,
 * into spec (memory_mib, vcpus, cpus), args or nets.  Returns 1 with *rc
 * set (0, or a usage error) when it was one, 0 when it was not.
 */
int ctl_spec_opt(const struct ctl_cmd *cmd, int ch, const char *arg, json_t *spec, json_t *args,
                 json_t *nets, int *rc);

/*
 * For a command's getopt_long loop: handles a global option, --help
 * (returns 1: the command's help is printed, exit 0), and the '?'/':'
 * of an unknown option or a missing argument (a usage error naming it).
 * 0 when ch was a global option, negative on error.
 */
int ctl_opt_common(struct ctl *c, const struct ctl_cmd *cmd, int ch, char **argv);
/* The option loop of a command that has only the common options. */
int ctl_opts_only(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv);
/* Positional arguments: exactly `want` of them, named `what` in the error. */
int ctl_want_args(const struct ctl_cmd *cmd, int argc, char **argv, int want, const char *what);
/* A guest name from the command line, checked as the API's path pattern is. */
int ctl_check_name(const struct ctl_cmd *cmd, const char *name);
/* Exactly one positional argument, a guest name (argv[optind]). */
int ctl_want_name(const struct ctl_cmd *cmd, int argc, char **argv);
/* Print "shoalctl: <cmd>: <message>" and return -CTL_EXIT_USAGE. */
int ctl_usage_error(const struct ctl_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Bad input (a file, not the command line): "shoalctl: <cmd>: <message>", -CTL_EXIT_USAGE. */
int ctl_input_error(const struct ctl_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Print "shoalctl: <message>" and return -code. */
int ctl_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Number options: whole numbers, or seconds with a fraction; 0 or a usage error. */
int ctl_parse_uint(const struct ctl_cmd *cmd, const char *opt, const char *s,
                   unsigned long long max, unsigned long long *out);
/* A size: a number in `unit` bytes, or with a suffix K, M, G (KiB...); a whole number of units. */
int ctl_parse_size(const struct ctl_cmd *cmd, const char *opt, const char *s,
                   unsigned long long unit, unsigned long long max, unsigned long long *out);
int ctl_parse_seconds(const struct ctl_cmd *cmd, const char *opt, const char *s, double *out);
/* A CPU list for --cpus, "0,2-3", appended to the array cpus as numbers; "" is none. */
int ctl_parse_cpus(const struct ctl_cmd *cmd, const char *s, json_t *cpus);
/*
 * A --disk NAME=IMAGE[:rw|:ro] (read-only unless :rw), appended to the
 * array disks as {"name", "image", "readonly"}.  The name's rules are the
 * daemon's to judge; only the shape is checked here.
 */
int ctl_parse_disk(const struct ctl_cmd *cmd, const char *s, json_t *disks);
/*
 * A --net NAME=BRIDGE[,ipv4=A.B.C.D/P][,mac=XX:XX:XX:XX:XX:XX], appended
 * to the array nets as {"name", "bridge"[, "ipv4"][, "mac"]}; without
 * them shoald picks the address and MAC from the bridge's pool.  The
 * shapes are checked here, the bridge and the address's pool by shoald.
 */
int ctl_parse_net(const struct ctl_cmd *cmd, const char *s, json_t *nets);

/*
 * Most commands are one request: the common options only, a guest NAME
 * when name_arg (it goes into the path between path and suffix), the
 * answer printed unchanged with --json, else by show (0 or an exit code).
 */
struct ctl_simple {
	const char *method;
	const char *path;
	int name_arg;
	const char *suffix;
	int (*show)(const json_t *answer, const char *name);
};
int ctl_simple(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv,
               const struct ctl_simple *req);
/* ctl_simple()'s request once the arguments are read: name (or NULL), then query (or NULL). */
int ctl_simple_send(struct ctl *c, const struct ctl_simple *req, const char *name,
                    const char *query);

/* The commands (guest.c, deploy.c, host.c, latency.c). */
int ctl_cmd_deploy(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv);
int ctl_cmd_ls(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv);
int ctl_cmd_show(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv);
int ctl_cmd_action(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv);
int ctl_cmd_rm(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv);
int ctl_cmd_console(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv);
int ctl_cmd_host(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv);
int ctl_cmd_metrics(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv);
int ctl_cmd_events(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv);
int ctl_cmd_images(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv);
int ctl_cmd_upload(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv);
int ctl_cmd_latency(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv);
int ctl_cmd_top(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv);
/* place.c: placement, pin and unpin. */
int ctl_cmd_placement(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv);
int ctl_cmd_pin(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv);
/* site.c: site build and site deploy, a directory as FAT images served by the site guest. */
int ctl_cmd_site(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv);
/* dashboard_proxy.c (shoalctl ui): a loopback TCP port forwarded to shoald's socket, for the web
 * dashboard. */
int ctl_cmd_ui(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv);

/* ---- a static site as FAT images (site_plan.c; made by site.c) ---- */

/* Every image's cluster: 2 KiB, small for a site's many small files. */
#define CTL_SITE_CLUSTER_SECTORS 4

struct ctl_site_dir {
	char *path;            /* relative to the site, '/' between names; "" is the root */
	int parent;            /* its index in dirs; -1 for the root */
	unsigned name_entries; /* directory entries its name takes (its long name's and its own) */
	unsigned children;     /* files and directories right in it */
	int image;             /* a directory that holds nothing: the image it is in; else -1 */
};

struct ctl_site_file {
	char *path; /* relative to the site */
	char *src;  /* the file to read: the site's absolute path joined to path */
	unsigned long long size_bytes;
	int dir;               /* its directory's index in dirs */
	unsigned name_entries; /* directory entries its name takes */
	int image;             /* the image it is in, once planned */
};

struct ctl_site_image {
	unsigned nfiles;
	unsigned long long file_bytes;
	unsigned long long clusters; /* data clusters: its files' and directories' but the root's */
	unsigned root_entries;       /* entries in the root directory */
	unsigned long long size_bytes; /* the image's size, as planned */
	unsigned *dir_entries;         /* per directory of the site: its entries here; 0: absent */
};

struct ctl_site {
	char *root;        /* the site's directory, absolute */
	const char *shown; /* the directory as given, for messages */
	struct ctl_site_dir
	    *dirs; /* in walk order: a parent before its children; dirs[0] is the root */
	size_t ndirs, dirs_cap;
	struct ctl_site_file *files; /* in walk order, names sorted within a directory */
	size_t nfiles, files_cap;
	struct ctl_site_image *images;
	size_t nimages;
};

/*
 * Walk dir into *s (free it with ctl_site_free, also on error).  Refused,
 * by name: a dir that is missing or holds no file, a symbolic link out of
 * dir or to nothing or back up (a loop), anything but files and
 * directories, a name FAT cannot hold (ctl_site_name_check), two names
 * FAT would take for one, a file over 4 GiB - 1.
 */
int ctl_site_scan(const struct ctl_cmd *cmd, const char *dir, struct ctl_site *s);
/*
 * Split a scanned site across images of at most image_max_bytes (first
 * fit, largest file first): every file in exactly one image, each image
 * with the directories its files need, a directory that holds nothing in
 * one.  A file that no image can hold is refused by name (size_shown is
 * --disk-size as given).
 */
int ctl_site_plan(const struct ctl_cmd *cmd, struct ctl_site *s, unsigned long long image_max_bytes,
                  const char *size_shown);
/* Does image hold directory dir (the root: always)? */
int ctl_site_image_has_dir(const struct ctl_site *s, size_t image, size_t dir);
void ctl_site_free(struct ctl_site *s);
/*
 * Can FAT hold name (one component)?  0 and the directory entries it
 * takes in *entries; else -1 and why in why ("holds ':', which ...").
 */
int ctl_site_name_check(const char *name, unsigned *entries, char *why, size_t len);
/* The image a content of clusters and root_entries needs, FAT overhead included. */
unsigned long long ctl_site_image_bytes(unsigned long long clusters, unsigned root_entries);
/* 16 (mkfs.fat picks FAT12 or FAT16 by size) or 32, for that content. */
int ctl_site_fat_bits(unsigned long long clusters, unsigned root_entries);
/* The root directory's entries for mkfs.fat -r (FAT12 and FAT16): at least 64, in whole sectors. */
unsigned ctl_site_root_entries(unsigned root_entries);

/*
 * ---- HTTP on the unix socket (http_unix.c: no TLS stack loaded) or TCP
 * with TLS (http_remote.c: libcurl, loaded for --url only); http.c ----
 */

struct ctl_answer {
	long status;
	char *body; /* NUL-terminated */
	size_t len;
	json_t *json; /* the body parsed, when it is JSON */
};

/* deploy.c: is s a sha256 (64 lower-case hex digits), as the image store names images? */
int ctl_is_sha256(const char *s);
/* POST the file to the image store as kind (guest or disk); the answer, with its sha256, in *a. */
int ctl_upload(struct ctl *c, const char *file, const char *kind, struct ctl_answer *a);

/* What a stream delivers, chunk by chunk, as it arrives. */
typedef void (*ctl_stream_fn)(void *ctx, const char *data, size_t len);

/*
 * One request: method, path with its query, a JSON body or NULL.  0 on a
 * 2xx answer (in *a; free it with ctl_answer_free); otherwise the error
 * (the server's, or why the daemon could not be reached) is printed and
 * the negative exit code returned, *a freed.
 */
int ctl_http(struct ctl *c, const char *method, const char *path, const char *json_body,
             struct ctl_answer *a);
/* POST the file at `file` as the body of path, streamed from disk. */
int ctl_http_upload(struct ctl *c, const char *path, const char *file, struct ctl_answer *a);
/*
 * GET a stream: fn gets the body as it comes until the server ends it
 * (0) or Ctrl-C (0 too: that is how a follow is meant to end).
 */
int ctl_http_stream(struct ctl *c, const char *path, ctl_stream_fn fn, void *ctx);
void ctl_answer_free(struct ctl_answer *a);
/* What shoalctl talks to, for messages: the socket's path or the URL. */
const char *ctl_target(const struct ctl *c);
/* Close what the requests kept (the connection, libcurl, the token). */
void ctl_http_done(struct ctl *c);
/* Set by SIGINT while ctl_catch_interrupt() is in force. */
extern volatile int ctl_interrupted;
void ctl_catch_interrupt(void);

/* Print the answer's body as it came (--json): unchanged, newline-terminated. */
void ctl_print_raw(const struct ctl_answer *a);

/* ---- output for people (fmt.c) ---- */

/* Human sizes and durations into buf (which is returned): "64 MiB", "12.3 s", "3 h 2 m". */
char *ctl_fmt_bytes(double bytes, char *buf, size_t len);
char *ctl_fmt_mib(double mib, char *buf, size_t len);
char *ctl_fmt_duration(double s, char *buf, size_t len);
char *ctl_fmt_us(double us, char *buf, size_t len);              /* "24.3 us", "1.20 ms" */
char *ctl_fmt_time_ns(long long wall_ns, char *buf, size_t len); /* "2026-12-01 21:50:31" (UTC) */

/* JSON getters that tolerate absent fields: NULL, or the fallback. */
const char *ctl_jstr(const json_t *o, const char *key);
long long ctl_jint(const json_t *o, const char *key, long long dflt);
/* A number (integer or real); returns 0 and *out, or -1 when absent/null/not a number. */
int ctl_jnum(const json_t *o, const char *key, double *out);
/* A latency figure (microseconds) from a window object, "-" when absent. */
char *ctl_fmt_lat(const json_t *window, const char *key, char *buf, size_t len);

/*
 * A guest's devices in one line each, from its JSON: a disk ("www: image
 * 0123456789ab, read-only (shared)") and a NIC ("lan on br0 (tap
 * sh-web.0): 10.0.0.2/24 via 10.0.0.1, mac 02:..."), each followed by its
 * counters when the entry has them ("; 12 reads 48 KiB, ..."; "; rx 120
 * frames 14 KiB, tx ..., N dropped, N errors, rate-limited RX/TX").  Into
 * buf, which is returned (cut short when it is too small).
 */
char *ctl_fmt_disk(const json_t *disk, char *buf, size_t len);
char *ctl_fmt_nic(const json_t *nic, char *buf, size_t len);
/* A spec's net_rate: "1000 packets/s, 1 MiB/s each way", "none" (0, 0), "the host's default". */
char *ctl_fmt_net_rate(const json_t *rate, char *buf, size_t len);
/* The guest's first NIC's address without its prefix ("10.0.0.2"), "-" when it has none. */
char *ctl_first_ipv4(const json_t *guest, char *buf, size_t len);

/*
 * A table for people: columns aligned, two spaces apart, numbers to the
 * right.  Cells are copied.  Printing frees nothing; ctl_table_free does.
 */
struct ctl_table;
struct ctl_table *ctl_table_new(const char *const *heads, const char *right_aligned);
void ctl_table_row(struct ctl_table *t, ...); /* as many const char * as heads (at most 32) */
void ctl_table_rowv(struct ctl_table *t, const char *const *cells); /* as many cells as heads */
void ctl_table_print(const struct ctl_table *t, FILE *f);
void ctl_table_free(struct ctl_table *t);

/* "key:       value", the keys of a block aligned. */
void ctl_kv(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A guest in one line: "web <verb> (state running, instance 3, pid 1234, deploy 2, image
 * 35bb6db34383)". */
void ctl_print_guest_line(const char *verb, const json_t *g);

#endif
