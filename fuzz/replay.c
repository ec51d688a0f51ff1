// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A main() for the fuzz targets where libFuzzer is not available (gcc
 * builds): runs the target once on every file named, or in a directory
 * named, on the command line, so that the seed corpora and the regression
 * inputs run in every build.  Exit 0, or 1 if a file cannot be read; a
 * failed check aborts.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rbe");
	uint8_t *buf = NULL;
	long len;
	int ret = 1;

	if (!f)
		goto out;
	if (fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET))
		goto out;
	/* Exactly the input's size, so that ASan sees reads past its end. */
	buf = malloc(len ? (size_t)len : 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len)
		goto out;
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	ret = 0;
out:
	if (ret)
		fprintf(stderr, "%s: cannot read it\n", path);
	free(buf);
	if (f)
		fclose(f);
	return ret;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int run_dir(const char *dir, int *count)
{
	struct dirent **ents;
	char path[4096];
	int n, ret = 0;

	n = scandir(dir, &ents, NULL, by_name);
	if (n < 0) {
		perror(dir);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir,
				 ents[i]->d_name);
			ret |= run_file(path);
			(*count)++;
		}
		free(ents[i]);
	}
	free(ents);
	return ret;
}

int main(int argc, char **argv)
{
	int ret = 0, count = 0;
	struct stat st;

	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		if (!stat(argv[i], &st) && S_ISDIR(st.st_mode)) {
			ret |= run_dir(argv[i], &count);
		} else {
			ret |= run_file(argv[i]);
			count++;
		}
	}
	printf("%d inputs replayed\n", count);
	return ret;
}
