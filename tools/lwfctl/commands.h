/* lwfctl's subcommands; each returns the process exit status (see usage in main.c). */
#ifndef LWFCTL_COMMANDS_H
#define LWFCTL_COMMANDS_H

#define LWF_EXIT_OK 0
#define LWF_EXIT_FAIL 1  /* refused, rules file errors, device unreachable */
#define LWF_EXIT_USAGE 2 /* bad arguments, unreadable input, malformed capture */

int lwf_cmd_load(int argc, char **argv);
int lwf_cmd_show(int argc, char **argv);
int lwf_cmd_stats(int argc, char **argv);
int lwf_cmd_check(int argc, char **argv);

/* Prints "lwfctl CMD: MSG" and a hint to stderr; returns LWF_EXIT_USAGE. */
int lwf_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
