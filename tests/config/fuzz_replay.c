/*
 * Runs the fuzz target over the files named on the command line, so the
 * saved corpus is an ordinary test on any compiler, sanitizers or not.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    int i, n = 0;

    for (i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        uint8_t *buf;
        long len;

        if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0) {
            fprintf(stderr, "cannot read %s\n", argv[i]);
            return 1;
        }
        rewind(f);
        buf = malloc(len > 0 ? (size_t)len : 1);
        if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len) {
            fprintf(stderr, "cannot read %s\n", argv[i]);
            return 1;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(buf, (size_t)len);
        free(buf);
        n++;
    }
    if (n < 5) {
        fprintf(stderr, "only %d corpus files: the corpus is missing\n", n);
        return 1;
    }
    printf("%s: %d corpus files ok\n", argv[0], n);
    return 0;
}
