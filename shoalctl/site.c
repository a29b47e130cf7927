/*
 * shoalctl site build and site deploy: a directory of static files as FAT
 * images (site_plan.c splits it), made with mkfs.fat, mmd and mcopy run as
 * child processes (an argv each, never a shell, nothing mounted), and for
 * deploy uploaded as disks with the site guest, which serves its disks
 * site0, site1, ... merged as one tree.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "shoalctl/ctl.h"

#define SITE_GUEST     "site.kvm"
#define DISK_SIZE_MAX  (256ull << 30)
#define DISK_SIZE_MIN  (64ull << 10)
#define DISK_SIZE_DFLT (1ull << 30)
#define TOOL_OUT_BYTES 1024
#define ARGS_PER_RUN   256 /* files per mcopy, directories per mmd */
#define IMAGE_TRIES    4

/* The tools, each with the Debian package that has it. */
static const char *const tools[][2] = {
	{ "mkfs.fat", "dosfstools" },
	{ "mmd", "mtools" },
	{ "mcopy", "mtools" },
};

/* Is prog an executable in $PATH? */
static int in_path(const char *prog)
{
	const char *path = getenv("PATH"), *p, *colon;
	char buf[4096];
	int n;

	for (p = path && *path ? path : "/usr/bin:/bin"; p; p = colon ? colon + 1 : NULL) {
		colon = strchr(p, ':');
		n = snprintf(buf, sizeof(buf), "%.*s/%s",
		             (int)(colon ? (size_t)(colon - p) : strlen(p)), p, prog);
		if (n > 0 && (size_t)n < sizeof(buf) && access(buf, X_OK) == 0)
			return 1;
	}
	return 0;
}

static int check_tools(const struct ctl_cmd *cmd)
{
	size_t i;

	for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		if (!in_path(tools[i][0]))
			return ctl_input_error(cmd,
			                       "%s is not installed: it makes the FAT images "
			                       "(Debian: apt-get install %s)",
			                       tools[i][0], tools[i][1]);
	return 0;
}

/*
 * Run argv[0] with argv, its stdin /dev/null, its stdout and stderr kept
 * (their last TOOL_OUT_BYTES) in out.  mtools gets the C.UTF-8 locale, so
 * that it writes long names from UTF-8, and skips its check of the
 * image's geometry.  0 when it exited 0; else -1, what it said in out.
 */
static int run(char *const argv[], char *out, size_t len)
{
	size_t have = 0;
	int fds[2], status, nul;
	char buf[512];
	ssize_t r;
	pid_t pid;

	out[0] = '\0';
	if (pipe2(fds, O_CLOEXEC) < 0) {
		snprintf(out, len, "pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(out, len, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		nul = open("/dev/null", O_RDONLY);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(fds[1], 1) < 0 || dup2(fds[1], 2) < 0)
			_exit(126);
		setenv("LC_ALL", "C.UTF-8", 1);
		setenv("MTOOLS_SKIP_CHECK", "1", 1);
		execvp(argv[0], argv);
		dprintf(2, "cannot run %s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		r = read(fds[0], buf, sizeof(buf) < len - 1 ? sizeof(buf) : len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if ((size_t)r > len - 1 - have) { /* keep the end, where the error is */
			size_t drop = have + (size_t)r - (len - 1);

			memmove(out, out + drop, have - drop);
			have -= drop;
		}
		memcpy(out + have, buf, (size_t)r);
		have += (size_t)r;
		out[have] = '\0';
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			snprintf(out, len, "waitpid: %s", strerror(errno));
			return -1;
		}
	while (have && (out[have - 1] == '\n' || out[have - 1] == ' '))
		out[--have] = '\0';
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (!have)
		snprintf(out, len, "%s %s %d", argv[0],
		         WIFEXITED(status) ? "exited" : "was killed by signal",
		         WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return -1;
}

/* What mkfs.fat made: its FAT type, data clusters and root directory entries. */
struct layout {
	int bits;
	unsigned long long clusters;
	unsigned root_entries;
};

static unsigned le16(const unsigned char *p)
{
	return p[0] | (unsigned)p[1] << 8;
}

static unsigned long long le32(const unsigned char *p)
{
	return le16(p) | (unsigned long long)le16(p + 2) << 16;
}

static int read_layout(const char *img, struct layout *l, char *why, size_t len)
{
	unsigned long long total, fat, root_sectors, used;
	unsigned char b[512];
	unsigned bps, spc;
	ssize_t r;
	int fd;

	fd = open(img, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, len, "%s", strerror(errno));
		return -1;
	}
	r = pread(fd, b, sizeof(b), 0);
	close(fd);
	bps = le16(b + 11);
	spc = b[13];
	if (r != (ssize_t)sizeof(b) || bps != 512 || spc == 0 || b[16] == 0) {
		snprintf(why, len, "mkfs.fat made no FAT boot sector this reads");
		return -1;
	}
	total = le16(b + 19) ? le16(b + 19) : le32(b + 32);
	fat = le16(b + 22) ? le16(b + 22) : le32(b + 36);
	l->root_entries = le16(b + 17);
	root_sectors = ((unsigned long long)l->root_entries * 32 + bps - 1) / bps;
	used = le16(b + 14) + b[16] * fat + root_sectors;
	l->clusters = total > used ? (total - used) / spc : 0;
	l->bits = l->clusters < 4085 ? 12 : l->clusters < 65525 ? 16 : 32;
	return 0;
}

/* One of the three tools on an image, said in the error when it fails. */
static int tool(const struct ctl_cmd *cmd, char **argv, const char *img, int *disk_full)
{
	char out[TOOL_OUT_BYTES];

	if (run(argv, out, sizeof(out)) == 0)
		return 0;
	if (disk_full && strstr(out, "Disk full")) {
		*disk_full = 1;
		return -1;
	}
	return ctl_fail(CTL_EXIT_FAILED, "%s: %s on %s failed: %s", cmd->name, argv[0], img, out);
}

/*
 * The directories image k holds, made with mmd (a parent before its
 * children, as site->dirs are), then its files, copied by mcopy into
 * their directory, a batch per directory.
 */
static int fill_image(const struct ctl_cmd *cmd, const struct ctl_site *s, size_t k,
                      const char *img, int *disk_full)
{
	char **argv = calloc(ARGS_PER_RUN + 10, sizeof(*argv)), *target = NULL;
	size_t i, j, n, head;
	int rc = 0;

	if (!argv)
		return ctl_fail(CTL_EXIT_FAILED, "out of memory");
	head = 0;
	argv[head++] = "mmd";
	argv[head++] = "-i";
	argv[head++] = (char *)img;
	n = head;
	for (i = 1; i <= s->ndirs && rc == 0; i++) {
		if (i < s->ndirs && ctl_site_image_has_dir(s, k, i)) {
			if (asprintf(&argv[n], "::/%s", s->dirs[i].path) < 0) {
				argv[n] = NULL;
				rc = ctl_fail(CTL_EXIT_FAILED, "out of memory");
				break;
			}
			n++;
		}
		if (n > head && (n - head == ARGS_PER_RUN || i == s->ndirs)) {
			argv[n] = NULL;
			rc = tool(cmd, argv, img, disk_full);
			for (j = head; j < n; j++)
				free(argv[j]);
			n = head;
		}
	}
	for (j = head; j < n; j++)
		free(argv[j]);
	argv[0] = "mcopy";
	argv[head++] = "-m"; /* the files' modification times */
	argv[head++] = "-Q"; /* stop at the first that fails */
	/* a batch per run of files of one directory in walk order */
	for (i = 0; i < s->nfiles && rc == 0; i = j) {
		int d = s->files[i].dir;

		n = head;
		for (j = i; j < s->nfiles && s->files[j].dir == d && n - head < ARGS_PER_RUN; j++)
			if (s->files[j].image == (int)k)
				argv[n++] = s->files[j].src;
		if (n == head)
			continue;
		if (asprintf(&target, "::/%s%s", s->dirs[d].path, d ? "/" : "") < 0) {
			rc = ctl_fail(CTL_EXIT_FAILED, "out of memory");
			break;
		}
		argv[n++] = target;
		argv[n] = NULL;
		rc = tool(cmd, argv, img, disk_full);
		free(target);
		target = NULL;
	}
	free(argv);
	return rc;
}

/*
 * Image k of the plan at img: mkfs.fat at the planned size, grown until
 * its layout holds what the plan puts in it (mkfs.fat aligns and reserves
 * in its own way) or mcopy finds room for it all.
 */
static int make_image(const struct ctl_cmd *cmd, const struct ctl_site *s, size_t k,
                      const char *img, struct layout *l)
{
	const struct ctl_site_image *im = &s->images[k];
	unsigned long long bytes = im->size_bytes, want = im->clusters;
	int bits = ctl_site_fat_bits(im->clusters, im->root_entries), tries, disk_full, rc = 0;
	char blocks[32], label[24], root[16], spc[8], why[200];
	char *argv[20];
	size_t n;

	if (bits == 32)
		want += (im->root_entries + 1 + 63) / 64;
	for (tries = 0; tries < IMAGE_TRIES * 2; tries++) {
		if (unlink(img) < 0 && errno != ENOENT)
			return ctl_fail(CTL_EXIT_FAILED, "%s: cannot replace %s: %s", cmd->name,
			                img, strerror(errno));
		snprintf(blocks, sizeof(blocks), "%llu", bytes >> 10);
		snprintf(label, sizeof(label), "SITE%zu", k);
		snprintf(root, sizeof(root), "%u", ctl_site_root_entries(im->root_entries));
		snprintf(spc, sizeof(spc), "%d", CTL_SITE_CLUSTER_SECTORS);
		n = 0;
		argv[n++] = "mkfs.fat";
		argv[n++] = "-C";
		argv[n++] = "-S";
		argv[n++] = "512";
		argv[n++] = "-s";
		argv[n++] = spc;
		argv[n++] = "-n";
		argv[n++] = label;
		if (bits == 32) {
			argv[n++] = "-F";
			argv[n++] = "32";
		} else {
			argv[n++] = "-r";
			argv[n++] = root;
		}
		argv[n++] = "--";
		argv[n++] = (char *)img;
		argv[n++] = blocks;
		argv[n] = NULL;
		rc = tool(cmd, argv, img, NULL);
		if (rc < 0)
			return rc;
		if (read_layout(img, l, why, sizeof(why)) < 0)
			return ctl_fail(CTL_EXIT_FAILED, "%s: %s: %s", cmd->name, img, why);
		if (l->clusters < want || (bits == 16 && l->root_entries < im->root_entries + 1)) {
			bytes += (want - (l->clusters < want ? l->clusters : want)) *
			             CTL_SITE_CLUSTER_SECTORS * 512 * 9 / 8 +
			         (16 << 10);
			continue;
		}
		disk_full = 0;
		rc = fill_image(cmd, s, k, img, &disk_full);
		if (rc == 0 || !disk_full)
			return rc;
		bytes += bytes / 8 + (64 << 10);
	}
	return ctl_fail(CTL_EXIT_FAILED, "%s: %s: mcopy found no room for what was planned in it",
	                cmd->name, img);
}

/* The images' paths: OUTDIR/site0.img, ... */
static char *image_path(const char *outdir, size_t k)
{
	char *p = NULL;

	/* a path that starts with '-' is not an option to the tools */
	if (asprintf(&p, "%s%s/site%zu.img", outdir[0] == '-' ? "./" : "", outdir, k) < 0)
		return NULL;
	return p;
}

/*
 * Make the plan's images in outdir (made when missing).  Images of an
 * earlier, larger build that would follow these are removed, so that
 * outdir holds the site and only it.
 */
static int build(const struct ctl_cmd *cmd, const struct ctl_site *s, const char *outdir,
                 char ***paths, struct layout *layouts)
{
	char **p = calloc(s->nimages + 1, sizeof(*p)), *stale;
	size_t k;
	int rc = 0;

	*paths = p;
	if (!p)
		return ctl_fail(CTL_EXIT_FAILED, "out of memory");
	if (mkdir(outdir, 0777) < 0 && errno != EEXIST)
		return ctl_input_error(cmd, "cannot make %s: %s", outdir, strerror(errno));
	for (k = 0; k < s->nimages && rc == 0; k++) {
		p[k] = image_path(outdir, k);
		if (!p[k])
			return ctl_fail(CTL_EXIT_FAILED, "out of memory");
		rc = make_image(cmd, s, k, p[k], &layouts[k]);
	}
	for (k = s->nimages; rc == 0; k++) {
		stale = image_path(outdir, k);
		if (!stale || unlink(stale) < 0) {
			free(stale);
			break;
		}
		free(stale);
	}
	return rc;
}

static void free_paths(char **paths)
{
	size_t k;

	for (k = 0; paths && paths[k]; k++)
		free(paths[k]);
	free(paths);
}

/* Scan and split DIR, refusing what cannot be served before anything is made. */
static int plan(const struct ctl_cmd *cmd, const char *dir, unsigned long long max_bytes,
                const char *size_shown, struct ctl_site *s)
{
	int rc;

	rc = ctl_site_scan(cmd, dir, s);
	if (rc == 0)
		rc = ctl_site_plan(cmd, s, max_bytes, size_shown);
	if (rc == 0)
		rc = check_tools(cmd);
	return rc;
}

static int parse_disk_size(const struct ctl_cmd *cmd, const char *arg, unsigned long long *out)
{
	int rc;

	rc = ctl_parse_size(cmd, "--disk-size", arg, 1, DISK_SIZE_MAX, out);
	if (rc == 0 && *out < DISK_SIZE_MIN)
		rc = ctl_usage_error(cmd, "--disk-size must be at least 64K, not \"%s\"", arg);
	return rc;
}

/* site build DIR -o OUTDIR [--disk-size SIZE] */
static int site_build(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	enum { OPT_OUTPUT = 'o', OPT_DISK_SIZE = CTL_OPT_FIRST_LOCAL };
	static const struct option lo[] = {
		CTL_GLOBAL_LONGOPTS,
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "disk-size", required_argument, NULL, OPT_DISK_SIZE },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long max_bytes = DISK_SIZE_DFLT;
	const char *outdir = NULL, *size_shown = "1G";
	struct layout *layouts = NULL;
	struct ctl_site s = { 0 };
	struct ctl_table *t = NULL;
	char **paths = NULL, files[24], bytes[24], size[24], fat[8];
	json_t *out = NULL, *list;
	size_t k;
	int ch, rc = 0;

	while (rc == 0 && (ch = getopt_long(argc, argv, ":ho:", lo, NULL)) != -1) {
		if (ch == OPT_OUTPUT) {
			outdir = optarg;
		} else if (ch == OPT_DISK_SIZE) {
			rc = parse_disk_size(cmd, optarg, &max_bytes);
			size_shown = optarg;
		} else {
			rc = ctl_opt_common(c, cmd, ch, argv);
		}
	}
	if (rc == 0)
		rc = ctl_want_args(cmd, argc, argv, 1, "the site's DIR");
	if (rc == 0 && (!outdir || !outdir[0]))
		rc = ctl_usage_error(cmd, "site build needs -o OUTDIR, where the images go");
	if (rc != 0)
		return rc;
	rc = plan(cmd, argv[optind], max_bytes, size_shown, &s);
	if (rc == 0) {
		layouts = calloc(s.nimages, sizeof(*layouts));
		rc = layouts ? build(cmd, &s, outdir, &paths, layouts)
		             : ctl_fail(CTL_EXIT_FAILED, "out of memory");
	}
	if (rc != 0)
		goto out;
	if (c->json) {
		list = json_array();
		for (k = 0; k < s.nimages; k++)
			json_array_append_new(
			    list,
			    json_pack("{s:s, s:I, s:I, s:I, s:i}", "path", paths[k], "files",
			              (json_int_t)s.images[k].nfiles, "bytes",
			              (json_int_t)s.images[k].file_bytes, "image_bytes",
			              (json_int_t)s.images[k].size_bytes, "fat", layouts[k].bits));
		out = json_pack("{s:o}", "images", list);
		json_dumpf(out, stdout, JSON_INDENT(2));
		putchar('\n');
		goto out;
	}
	t = ctl_table_new((const char *const[]){ "IMAGE", "FILES", "BYTES", "SIZE", "FAT", NULL },
	                  "FILES BYTES SIZE");
	for (k = 0; k < s.nimages; k++) {
		struct stat st;

		snprintf(files, sizeof(files), "%u", s.images[k].nfiles);
		snprintf(bytes, sizeof(bytes), "%llu", s.images[k].file_bytes);
		ctl_fmt_bytes(stat(paths[k], &st) == 0 ? (double)st.st_size : 0, size,
		              sizeof(size));
		snprintf(fat, sizeof(fat), "FAT%d", layouts[k].bits);
		ctl_table_row(t, paths[k], files, bytes, size, fat);
	}
	ctl_table_print(t, stdout);
out:
	ctl_table_free(t);
	json_decref(out);
	free_paths(paths);
	free(layouts);
	ctl_site_free(&s);
	return rc;
}

/* The site guest: --image, else $SHOAL_GUESTS/site.kvm, else the installed one. */
static int guest_image(const struct ctl_cmd *cmd, const char *opt, char *buf, size_t len)
{
	const char *env = getenv("SHOAL_GUESTS");
	struct stat st;

	if (opt && ctl_is_sha256(opt)) {
		snprintf(buf, len, "%s", opt);
		return 0;
	}
	if (opt)
		snprintf(buf, len, "%s", opt);
	else
		snprintf(buf, len, "%s/" SITE_GUEST, env && env[0] ? env : CTL_GUESTDIR);
	if (stat(buf, &st) < 0)
		return ctl_input_error(cmd,
		                       "the site guest %s: %s (give --image FILE, or set "
		                       "SHOAL_GUESTS to the folder of %s)",
		                       buf, strerror(errno), SITE_GUEST);
	if (!S_ISREG(st.st_mode))
		return ctl_input_error(cmd, "the site guest %s is not a regular file", buf);
	return 0;
}

/* Remove the temporary images and their folder. */
static void remove_tmp(char *tmpdir, char **paths)
{
	size_t k;

	for (k = 0; paths && paths[k]; k++)
		unlink(paths[k]);
	if (tmpdir[0])
		rmdir(tmpdir);
}

/* site deploy NAME DIR [OPTION...] */
static int site_deploy(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	enum {
		OPT_IMAGE = 'i',
		OPT_DISK_SIZE = CTL_OPT_FIRST_LOCAL,
		OPT_NO_WAIT,
	};
	static const struct option lo[] = {
		CTL_GLOBAL_LONGOPTS,
		CTL_SPEC_LONGOPTS,
		{ "image", required_argument, NULL, OPT_IMAGE },
		{ "disk-size", required_argument, NULL, OPT_DISK_SIZE },
		{ "no-wait", no_argument, NULL, OPT_NO_WAIT },
		{ NULL, 0, NULL, 0 },
	};
	json_t *spec = json_object(), *args = json_array(), *nets = json_array(),
	       *disks = json_array(), *shas = json_array();
	unsigned long long max_bytes = DISK_SIZE_DFLT;
	const char *image_opt = NULL, *size_shown = "1G", *tmp = getenv("TMPDIR"), *verb, *name;
	char guest[4096], tmpdir[4096] = "", **paths = NULL, disk[32], sha[16], files[24],
	                  bytes[24];
	struct layout *layouts = NULL;
	struct ctl_answer a = { 0 };
	struct ctl_site s = { 0 };
	struct ctl_table *t = NULL;
	int ch, rc = 0, wait = 1;
	char *body = NULL;
	size_t k;

	if (!spec || !args || !nets || !disks || !shas) {
		rc = ctl_fail(CTL_EXIT_FAILED, "out of memory");
		goto out;
	}
	while (rc == 0 && (ch = getopt_long(argc, argv, ":hi:m:a:", lo, NULL)) != -1) {
		switch (ch) {
		case OPT_IMAGE:
			image_opt = optarg;
			break;
		case OPT_DISK_SIZE:
			rc = parse_disk_size(cmd, optarg, &max_bytes);
			size_shown = optarg;
			break;
		case OPT_NO_WAIT:
			wait = 0;
			break;
		default:
			if (!ctl_spec_opt(cmd, ch, optarg, spec, args, nets, &rc))
				rc = ctl_opt_common(c, cmd, ch, argv);
			break;
		}
	}
	if (rc == 0)
		rc = ctl_want_args(cmd, argc, argv, 2,
		                   argc - optind < 1 ? "the guest's NAME" : "the site's DIR");
	if (rc == 0)
		rc = ctl_check_name(cmd, argv[optind]);
	if (rc != 0)
		goto out;
	name = argv[optind];
	/* everything that can be refused here is, before a byte is made or sent */
	rc = plan(cmd, argv[optind + 1], max_bytes, size_shown, &s);
	if (rc == 0)
		rc = guest_image(cmd, image_opt, guest, sizeof(guest));
	if (rc != 0)
		goto out;
	if (snprintf(tmpdir, sizeof(tmpdir), "%s/shoalctl-site-XXXXXX",
	             tmp && tmp[0] ? tmp : "/tmp") >= (int)sizeof(tmpdir) ||
	    !mkdtemp(tmpdir)) {
		rc = ctl_fail(CTL_EXIT_FAILED, "cannot make a temporary folder in %s: %s",
		              tmp && tmp[0] ? tmp : "/tmp", strerror(errno));
		tmpdir[0] = '\0';
		goto out;
	}
	layouts = calloc(s.nimages, sizeof(*layouts));
	rc = layouts ? build(cmd, &s, tmpdir, &paths, layouts)
	             : ctl_fail(CTL_EXIT_FAILED, "out of memory");
	for (k = 0; rc == 0 && k < s.nimages; k++) {
		rc = ctl_upload(c, paths[k], "disk", &a);
		if (rc < 0)
			break;
		snprintf(disk, sizeof(disk), "site%zu", k);
		json_array_append_new(disks,
		                      json_pack("{s:s, s:O, s:b}", "name", disk, "image",
		                                json_object_get(a.json, "sha256"), "readonly", 1));
		json_array_append(shas, json_object_get(a.json, "sha256"));
		ctl_answer_free(&a);
	}
	if (rc == 0 && !ctl_is_sha256(guest)) {
		rc = ctl_upload(c, guest, "guest", &a);
		if (rc == 0) {
			snprintf(guest, sizeof(guest), "%s", ctl_jstr(a.json, "sha256"));
			ctl_answer_free(&a);
		}
	}
	if (rc != 0)
		goto out;
	json_object_set_new(spec, "name", json_string(name));
	json_object_set_new(spec, "image", json_string(guest));
	json_object_set(spec, "disks", disks);
	if (json_array_size(args))
		json_object_set(spec, "args", args);
	if (json_array_size(nets))
		json_object_set(spec, "net", nets);
	body = json_dumps(spec, JSON_COMPACT);
	if (!body) {
		rc = ctl_fail(CTL_EXIT_FAILED, "out of memory");
		goto out;
	}
	rc = ctl_http(c, "POST", wait ? "/v1/guests" : "/v1/guests?wait=0", body, &a);
	if (rc < 0)
		goto out;
	if (c->json) {
		ctl_print_raw(&a);
		goto out;
	}
	verb = a.status == 201   ? "deployed"
	       : a.status == 200 ? "deployed again"
	                         : "deploy accepted";
	ctl_print_guest_line(verb, a.json);
	t = ctl_table_new((const char *const[]){ "DISK", "IMAGE", "FILES", "BYTES", NULL },
	                  "FILES BYTES");
	for (k = 0; k < s.nimages; k++) {
		snprintf(disk, sizeof(disk), "site%zu", k);
		snprintf(sha, sizeof(sha), "%.12s", json_string_value(json_array_get(shas, k)));
		snprintf(files, sizeof(files), "%u", s.images[k].nfiles);
		snprintf(bytes, sizeof(bytes), "%llu", s.images[k].file_bytes);
		ctl_table_row(t, disk, sha, files, bytes);
	}
	ctl_table_print(t, stdout);
out:
	ctl_answer_free(&a);
	if (tmpdir[0])
		remove_tmp(tmpdir, paths);
	ctl_table_free(t);
	free(body);
	free_paths(paths);
	free(layouts);
	ctl_site_free(&s);
	json_decref(spec);
	json_decref(args);
	json_decref(nets);
	json_decref(disks);
	json_decref(shas);
	return rc;
}

int ctl_cmd_site(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
		return ctl_opt_common(c, cmd, CTL_OPT_HELP, argv);
	if (argc < 2)
		return ctl_usage_error(cmd, "build or deploy is missing");
	/* the subcommand is the option loop's argv[0] */
	if (!strcmp(argv[1], "build"))
		return site_build(c, cmd, argc - 1, argv + 1);
	if (!strcmp(argv[1], "deploy"))
		return site_deploy(c, cmd, argc - 1, argv + 1);
	return ctl_usage_error(cmd, "\"%s\" is not build or deploy", argv[1]);
}
