/* What both tenders share (util.h). */
#include <stdio.h>
#include <string.h>

#include "vmm/util.h"

void vmm_set_name(char *buf, size_t cap, const char *name)
{
	size_t i;

	snprintf(buf, cap, "%s", name);
	for (i = 0; buf[i]; i++)
		if ((unsigned char)buf[i] < 0x21 || (unsigned char)buf[i] > 0x7e)
			buf[i] = '_';
}

void vmm_name_from_path(char *buf, size_t cap, const char *path, const char *suffix)
{
	const char *base = strrchr(path, '/');
	size_t n, s = strlen(suffix);

	vmm_set_name(buf, cap, base ? base + 1 : path);
	n = strlen(buf);
	if (n > s && !strcmp(buf + n - s, suffix))
		buf[n - s] = '\0';
	else if (n > 4 && !strcmp(buf + n - 4, ".elf"))
		buf[n - 4] = '\0';
}
