#include "util/signals.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#define MAX_TMP 8
#define TMP_PATH 4096

static volatile sig_atomic_t g_signal, g_defer;
// Slot i is in use while g_used[i]; the handler reads only used slots.
static char g_tmp[MAX_TMP][TMP_PATH];
static volatile sig_atomic_t g_used[MAX_TMP];

static void say(const char *s) {
    ssize_t rc = write(STDERR_FILENO, s, strlen(s));
    (void)rc;
}

static void on_signal(int sig) {
    if (g_defer == SIGNALS_DEFER_ALL || (sig == SIGUSR1 && g_defer == SIGNALS_DEFER_USR1)) {
        g_signal = sig;
        return;
    }
    // Async-signal-safe only: write, unlink, signal, raise.
    say(sig == SIGINT ? "landermt: interrupted (SIGINT)\n"
        : sig == SIGTERM ? "landermt: terminated (SIGTERM)\n" : "landermt: stopped (SIGUSR1)\n");
    for (int i = 0; i < MAX_TMP; i++)
        if (g_used[i]) unlink(g_tmp[i]);
    signal(sig, SIG_DFL);
    raise(sig);
}

void signals_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}

void signals_defer(int mode) { g_defer = mode; }

int signals_pending(void) { return g_signal; }

void signals_track_tmp(const char *path) {
    size_t n = strlen(path);
    for (int i = 0; i < MAX_TMP && n < TMP_PATH; i++) {
        if (g_used[i]) continue;
        memcpy(g_tmp[i], path, n + 1);
        g_used[i] = 1;
        return;
    }
}

void signals_untrack_tmp(const char *path) {
    for (int i = 0; i < MAX_TMP; i++)
        if (g_used[i] && !strcmp(g_tmp[i], path)) g_used[i] = 0;
}
