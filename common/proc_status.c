/* One field of /proc/PID/status (proc_status.h). */
#include <stdio.h>
#include <string.h>

#include "common/proc_status.h"

int proc_status_field(pid_t pid, const char *name, char *buf, size_t len)
{
	char path[64], line[4096];
	size_t n = strlen(name);
	int rc = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, n)) {
			snprintf(buf, len, "%s", line + n);
			rc = 0;
			break;
		}
	fclose(f);
	return rc;
}
