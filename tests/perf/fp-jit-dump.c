// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fp-jit-dump PROG-ID DIR: writes the JIT code of each function of a loaded
 * BPF program to DIR/<address>.bin and prints one line per function,
 * "<address> <length>", so that objdump can disassemble it at its kernel
 * address (Debian's bpftool is built without libbfd and cannot).  For
 * profile-hook.sh.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

int main(int argc, char **argv)
{
    struct bpf_prog_info info = {0};
    __u32 len = sizeof(info), n_funcs, n_lens, code_len;
    unsigned char *code;
    __u64 *addrs;
    __u32 *lens;
    size_t off = 0;
    int fd;

    if (argc != 3) {
        fprintf(stderr, "usage: %s PROG-ID DIR\n", argv[0]);
        return 2;
    }
    fd = bpf_prog_get_fd_by_id((__u32)strtoul(argv[1], NULL, 10));
    if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len)) {
        fprintf(stderr, "fp-jit-dump: program %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    code_len = info.jited_prog_len;
    n_funcs = info.nr_jited_ksyms;
    n_lens = info.nr_jited_func_lens;
    if (code_len == 0 || n_funcs == 0 || n_funcs != n_lens) {
        fprintf(stderr, "fp-jit-dump: program %s has no JIT code to read (root only)\n", argv[1]);
        return 1;
    }
    code = malloc(code_len);
    addrs = calloc(n_funcs, sizeof(*addrs));
    lens = calloc(n_lens, sizeof(*lens));
    if (!code || !addrs || !lens)
        return 1;
    memset(&info, 0, sizeof(info));
    info.jited_prog_len = code_len;
    info.jited_prog_insns = (__u64)(unsigned long)code;
    info.nr_jited_ksyms = n_funcs;
    info.jited_ksyms = (__u64)(unsigned long)addrs;
    info.nr_jited_func_lens = n_lens;
    info.jited_func_lens = (__u64)(unsigned long)lens;
    len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
        fprintf(stderr, "fp-jit-dump: program %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    for (__u32 i = 0; i < n_funcs; i++) {
        char path[4096];
        FILE *f;

        if (off + lens[i] > code_len)
            return 1;
        snprintf(path, sizeof(path), "%s/%llx.bin", argv[2], (unsigned long long)addrs[i]);
        f = fopen(path, "w");
        if (!f || fwrite(code + off, 1, lens[i], f) != lens[i] || fclose(f) != 0) {
            fprintf(stderr, "fp-jit-dump: %s: %s\n", path, strerror(errno));
            return 1;
        }
        printf("%llx %u\n", (unsigned long long)addrs[i], lens[i]);
        off += lens[i];
    }
    free(code);
    free(addrs);
    free(lens);
    close(fd);
    return 0;
}
