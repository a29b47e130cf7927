/*
 * shoalctl deploy and upload.  A deploy's spec comes from a JSON file
 * and/or flags (flags win, field by field).  An image or a disk given as
 * a local file is uploaded first (a disk with kind=disk) and deployed by
 * its sha256, so a deploy means the files the operator sees, wherever
 * shoald runs; --no-upload sends the paths for the daemon to read on its
 * own host.
 *
 * What is cheap to check here is checked before anything is sent: the
 * spec file is JSON (else its name, line and column), flags that must be
 * numbers are numbers, the image file exists.  Ranges, enums and limits
 * are the daemon's to judge (they depend on its configuration); its
 * refusal is shown as it comes.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "shoalctl/ctl.h"

int ctl_is_sha256(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[64] == '\0';
}

/* The spec file as a JSON object; "-" is stdin. */
static int load_spec(const struct ctl_cmd *cmd, const char *file, json_t **out)
{
	const char *shown = strcmp(file, "-") ? file : "<stdin>";
	FILE *f = strcmp(file, "-") ? fopen(file, "re") : stdin;
	json_error_t jerr;
	json_t *j;

	*out = NULL;
	if (!f)
		return ctl_input_error(cmd, "cannot read the spec file %s: %s", file,
		                       strerror(errno));
	j = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
	if (f != stdin)
		fclose(f);
	if (!j)
		return ctl_input_error(cmd, "%s:%d:%d: the spec file is not valid JSON: %s", shown,
		                       jerr.line, jerr.column, jerr.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return ctl_input_error(
		    cmd, "%s: the spec must be a JSON object ({\"name\": ..., \"image\": ...})",
		    shown);
	}
	*out = j;
	return 0;
}

/* A flag's text into the spec (or, without a key, onto the args array). */
static int put_string(const struct ctl_cmd *cmd, json_t *dst, const char *key, const char *opt,
                      const char *val)
{
	json_t *v = json_string(val);

	if (!v)
		return ctl_usage_error(cmd, "%s must be UTF-8 text", opt);
	if (key)
		json_object_set_new(dst, key, v);
	else
		json_array_append_new(dst, v);
	return 0;
}

int ctl_spec_opt(const struct ctl_cmd *cmd, int ch, const char *arg, json_t *spec, json_t *args,
                 json_t *nets, int *rc)
{
	unsigned long long x = 0;
	json_t *cpus;

	switch (ch) {
	case CTL_OPT_SPEC_MEMORY:
		*rc = ctl_parse_size(cmd, "--memory", arg, 1ull << 20, 1ull << 32, &x);
		json_object_set_new(spec, "memory_mib", json_integer((json_int_t)x));
		return 1;
	case CTL_OPT_SPEC_VCPUS:
		*rc = ctl_parse_uint(cmd, "--vcpus", arg, 1u << 16, &x);
		json_object_set_new(spec, "vcpus", json_integer((json_int_t)x));
		return 1;
	case CTL_OPT_SPEC_ARG:
		*rc = put_string(cmd, args, NULL, "--arg", arg);
		return 1;
	case CTL_OPT_SPEC_CPUS:
		cpus = json_array();
		*rc = ctl_parse_cpus(cmd, arg, cpus);
		json_object_set_new(spec, "cpus", cpus);
		return 1;
	case CTL_OPT_SPEC_NET:
		*rc = ctl_parse_net(cmd, arg, nets);
		return 1;
	default:
		return 0;
	}
}

int ctl_upload(struct ctl *c, const char *file, const char *kind, struct ctl_answer *a)
{
	char path[64];
	int rc;

	snprintf(path, sizeof(path), "/v1/images%s%s", strcmp(kind, "guest") ? "?kind=" : "",
	         strcmp(kind, "guest") ? kind : "");
	rc = ctl_http_upload(c, path, file, a);
	if (rc < 0)
		return rc;
	if (!ctl_jstr(a->json, "sha256")) {
		ctl_answer_free(a);
		return ctl_fail(CTL_EXIT_FAILED,
		                "shoald's answer to the upload of %s has no sha256", file);
	}
	return 0;
}

/*
 * An image a deploy names (the guest's in obj "image" of kind guest, or a
 * disk's of kind disk): a sha256 or (--no-upload) a daemon-side path goes
 * as it is; a local file is uploaded and replaced by its sha256.  A
 * relative path from the spec file is taken from the file's folder.
 */
static int resolve_image(struct ctl *c, const struct ctl_cmd *cmd, json_t *obj, const char *kind,
                         const char *spec_file, int no_upload)
{
	const char *img = ctl_jstr(obj, "image");
	char path[PATH_MAX + 1], dir[PATH_MAX + 1];
	struct ctl_answer ref;
	struct stat st;
	int rc;

	if (!img || no_upload || ctl_is_sha256(img))
		return 0; /* a missing or mistyped image is for shoald to refuse */
	if (spec_file && img[0] != '/') {
		snprintf(dir, sizeof(dir), "%s", spec_file);
		if (snprintf(path, sizeof(path), "%s/%s", dirname(dir), img) >= (int)sizeof(path))
			return ctl_input_error(cmd, "the %s path %s is too long", kind, img);
	} else {
		snprintf(path, sizeof(path), "%s", img);
	}
	if (stat(path, &st) < 0)
		return ctl_input_error(cmd,
		                       "%s image %s: %s (--no-upload sends a path on the daemon's "
		                       "host)",
		                       kind, path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return ctl_input_error(cmd, "%s image %s is not a regular file", kind, path);
	rc = ctl_upload(c, path, kind, &ref);
	if (rc < 0)
		return rc;
	json_object_set(obj, "image", json_object_get(ref.json, "sha256"));
	ctl_answer_free(&ref);
	return 0;
}

/* Every disk of the spec that names a local file: uploaded as a disk. */
static int resolve_disks(struct ctl *c, const struct ctl_cmd *cmd, json_t *spec,
                         const char *spec_file, int no_upload)
{
	json_t *disks = json_object_get(spec, "disks"), *d;
	size_t i;
	int rc;

	if (!json_is_array(disks))
		return 0; /* not a list: for shoald to refuse */
	json_array_foreach(disks, i, d)
	{
		if (!json_is_object(d))
			continue;
		rc = resolve_image(c, cmd, d, "disk", spec_file, no_upload);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int ctl_cmd_deploy(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	enum {
		OPT_FILE = 'f',
		OPT_NAME = 'n',
		OPT_IMAGE = 'i',
		OPT_CLASS = CTL_OPT_FIRST_LOCAL,
		OPT_SLO,
		OPT_RESTART,
		OPT_NO_UPLOAD,
		OPT_NO_WAIT,
		OPT_DISK = 'd',
	};
	static const struct option lo[] = {
		CTL_GLOBAL_LONGOPTS,
		{ "file", required_argument, NULL, OPT_FILE },
		{ "name", required_argument, NULL, OPT_NAME },
		CTL_SPEC_LONGOPTS,
		{ "image", required_argument, NULL, OPT_IMAGE },
		{ "class", required_argument, NULL, OPT_CLASS },
		{ "slo-us", required_argument, NULL, OPT_SLO },
		{ "restart", required_argument, NULL, OPT_RESTART },
		{ "disk", required_argument, NULL, OPT_DISK },
		{ "no-upload", no_argument, NULL, OPT_NO_UPLOAD },
		{ "no-wait", no_argument, NULL, OPT_NO_WAIT },
		{ NULL, 0, NULL, 0 },
	};
	json_t *flags = json_object(), *args = json_array(), *disks = json_array(),
	       *nets = json_array(), *spec = NULL;
	const char *file = NULL, *verb;
	int ch, rc = 0, no_upload = 0, wait = 1, image_from_flag = 0;
	unsigned long long x = 0;
	struct ctl_answer a = { 0 };
	char *body = NULL;

	if (!flags || !args || !disks || !nets) {
		rc = ctl_fail(CTL_EXIT_FAILED, "out of memory");
		goto out;
	}
	while (rc == 0 && (ch = getopt_long(argc, argv, ":hf:n:i:m:a:d:", lo, NULL)) != -1) {
		switch (ch) {
		case OPT_FILE:
			file = optarg;
			break;
		case OPT_NAME:
			rc = put_string(cmd, flags, "name", "--name", optarg);
			break;
		case OPT_IMAGE:
			rc = put_string(cmd, flags, "image", "--image", optarg);
			image_from_flag = 1;
			break;
		case OPT_CLASS:
			rc = put_string(cmd, flags, "latency_class", "--class", optarg);
			break;
		case OPT_SLO:
			rc = ctl_parse_uint(cmd, "--slo-us", optarg, 1ull << 40, &x);
			json_object_set_new(flags, "slo_us", json_integer((json_int_t)x));
			break;
		case OPT_RESTART:
			rc = put_string(cmd, flags, "restart", "--restart", optarg);
			break;
		case OPT_DISK:
			rc = ctl_parse_disk(cmd, optarg, disks);
			break;
		case OPT_NO_UPLOAD:
			no_upload = 1;
			break;
		case OPT_NO_WAIT:
			wait = 0;
			break;
		default:
			if (!ctl_spec_opt(cmd, ch, optarg, flags, args, nets, &rc))
				rc = ctl_opt_common(c, cmd, ch, argv);
			break;
		}
	}
	if (rc == 0)
		rc = ctl_want_args(cmd, argc, argv, 0, NULL);
	if (rc == 0 && !file && !json_object_size(flags) && !json_array_size(args) &&
	    !json_array_size(disks) && !json_array_size(nets))
		rc = ctl_usage_error(cmd,
		                     "give a spec file (-f FILE) or at least --name and --image");
	if (rc == 0 && file)
		rc = load_spec(cmd, file, &spec);
	if (rc != 0)
		goto out;
	if (!spec)
		spec = json_object();
	json_object_update(spec, flags);
	if (json_array_size(args))
		json_object_set(spec, "args", args);
	if (json_array_size(disks))
		json_object_set(spec, "disks", disks);
	if (json_array_size(nets))
		json_object_set(spec, "net", nets);
	rc = resolve_image(c, cmd, spec, "guest",
	                   file && !image_from_flag && strcmp(file, "-") ? file : NULL, no_upload);
	if (rc == 0)
		rc = resolve_disks(
		    c, cmd, spec,
		    file && !json_array_size(disks) && strcmp(file, "-") ? file : NULL, no_upload);
	if (rc < 0)
		goto out;
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
	} else {
		verb = a.status == 201   ? "deployed"
		       : a.status == 200 ? "deployed again"
		                         : "deploy accepted";
		ctl_print_guest_line(verb, a.json);
	}
	ctl_answer_free(&a);
out:
	free(body);
	json_decref(spec);
	json_decref(flags);
	json_decref(args);
	json_decref(disks);
	json_decref(nets);
	return rc;
}

int ctl_cmd_upload(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	enum { OPT_KIND = CTL_OPT_FIRST_LOCAL, OPT_DISK };
	static const struct option lo[] = {
		CTL_GLOBAL_LONGOPTS,
		{ "kind", required_argument, NULL, OPT_KIND },
		{ "disk", no_argument, NULL, OPT_DISK },
		{ NULL, 0, NULL, 0 },
	};
	const char *kind = "guest";
	struct ctl_answer a;
	int ch, rc = 0;

	while (rc == 0 && (ch = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		if (ch == OPT_KIND) {
			if (strcmp(optarg, "guest") && strcmp(optarg, "disk"))
				rc = ctl_usage_error(cmd, "--kind is guest or disk, not \"%s\"",
				                     optarg);
			kind = optarg;
		} else if (ch == OPT_DISK) {
			kind = "disk";
		} else {
			rc = ctl_opt_common(c, cmd, ch, argv);
		}
	}
	if (rc == 0)
		rc = ctl_want_args(cmd, argc, argv, 1, "the image FILE");
	if (rc != 0)
		return rc;
	rc = ctl_upload(c, argv[optind], kind, &a);
	if (rc < 0)
		return rc;
	if (c->json)
		ctl_print_raw(&a);
	else
		puts(ctl_jstr(a.json, "sha256"));
	ctl_answer_free(&a);
	return 0;
}
