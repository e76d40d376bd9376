/*
 * tui.c - top's full-screen view (ncurses, as htop and iftop draw theirs).
 *
 * Everything runs on the command's ev loop: the refresh timer, the
 * keyboard (stdin readable: every key queued is taken at once), SIGWINCH
 * (the new size is read from the terminal and the screen redrawn), and
 * SIGINT/SIGTERM/SIGHUP, which end the loop like q does. Every way out passes
 * through endwin(), which gives the terminal its modes back; ncurses'
 * own SIGTSTP handling (Ctrl-Z) stays in place.
 *
 * The screen: a title line, the interfaces' own counters and what the
 * rows account for (header_lines(), shared with the batch table), the
 * column heads with the sort column marked, the rows that fit, and a key
 * line. Only ASCII is drawn, and names from outside (commands) are shown
 * with anything unprintable as '?', so a non-UTF-8 locale or a hostile
 * process name cannot garble the terminal. A terminal smaller than
 * MIN_COLS x MIN_ROWS gets a one-line note until it grows.
 */
#include <ctype.h>
#include <curses.h>
#include <term.h>
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/base/log.h"
#include "core/base/out.h"
#include "core/base/xalloc.h"
#include "top/top.h"
#include "core/base/banned.h"

#define MIN_COLS 30
#define MIN_ROWS 6
#define FILTER_MAX 64

struct tui {
	struct ev_loop *loop;
	struct top_sampler *s;
	struct top_opts *o;
	struct ev_timer tick;
	struct ev_io keys;
	SCREEN *scr;
	unsigned interval;
	bool frozen, reverse, editing, stopped, keys_on;
	char filter[FILTER_MAX + 1];
	size_t flen;
	int line;		/* the next screen line while drawing */
	int first;		/* the first row shown (scrolling) */
	int r;
};

/* outside text as the screen may show it: printable ASCII only */
static void clean(char *s)
{
	for (; *s; s++)
		if (!isprint((unsigned char)*s) || (unsigned char)*s > 126)
			*s = '?';
}

static void put_line(const char *text, void *arg)
{
	struct tui *t = arg;
	char b[512];

	if (t->line >= LINES - 1)
		return;
	snprintf(b, sizeof(b), "%s", text);
	clean(b);
	mvaddnstr(t->line++, 0, b, COLS);
}

/* which columns the sort key marks */
static bool col_sorted(enum top_sort s, const char *head, size_t col)
{
	switch (s) {
	case S_RATE: return !strcmp(head, "TX/s") || !strcmp(head, "RX/s");
	case S_TX: return !strcmp(head, "TX/s");
	case S_RX: return !strcmp(head, "RX/s");
	case S_TOTAL: return !strcmp(head, "TX") || !strcmp(head, "RX");
	case S_SESSIONS: return !strcmp(head, "SESS");
	case S_NAME: return col == 0 || !strcmp(head, "PROGRAM");
	default: return false;
	}
}

static const char *const sort_names[S_N] = { "rate", "tx", "rx", "total", "sessions", "name" };

static bool matches(const struct tui *t, char cell[10][TOP_CELL], size_t nc)
{
	if (!t->flen)
		return true;
	for (size_t k = 0; k < nc; k++)
		if (strstr(cell[k], t->filter))
			return true;
	return false;
}

static void draw(struct tui *t)
{
	const struct out_col *c;
	size_t nc = group_columns(t->o->group, &c), n, shown = 0;
	struct top_row *rows;
	int width[10], x = 0, avail;
	double secs = sampler_elapsed(t->s);
	char (*cells)[10][TOP_CELL];
	char b[256];

	erase();
	t->line = 0;
	if (COLS < MIN_COLS || LINES < MIN_ROWS) {
		snprintf(b, sizeof(b), "too small: %dx%d, top needs %dx%d", COLS, LINES, MIN_COLS,
			 MIN_ROWS);
		mvaddnstr(0, 0, b, COLS);
		refresh();
		return;
	}
	if (!t->interval) {	/* the baseline is taken: rates need one interval */
		snprintf(b, sizeof(b), "portkit top: the first figures come in %.1f s (by %s)",
			 t->o->delay_ms / 1000.0, group_name(t->o->group));
		put_line(b, t);
		attron(A_REVERSE);
		mvhline(LINES - 1, 0, ' ', COLS);
		mvaddnstr(LINES - 1, 0, "q quit", COLS);
		attroff(A_REVERSE);
		refresh();
		return;
	}
	header_lines(t->s, t->o, t->interval, put_line, t);
	n = flows_rows(sampler_flows(t->s), t->o, t->o->group, t->o->sort, t->reverse, &rows);
	cells = xmalloc((n ? n : 1) * sizeof(*cells));
	for (size_t k = 0; k < nc; k++)
		width[k] = (int)strlen(c[k].header);
	for (size_t i = 0; i < n; i++) {
		row_cells(&rows[i], secs, t->o->cc.numeric, cells[shown]);
		if (!matches(t, cells[shown], nc))
			continue;
		for (size_t k = 0; k < nc; k++) {
			int w;

			clean(cells[shown][k]);
			w = (int)strlen(cells[shown][k]);
			width[k] = w > width[k] ? w : width[k];
		}
		shown++;
	}
	/* the name column (the widest text) gives way when the screen is narrow */
	for (size_t k = 0; k < nc; k++)
		x += width[k] + 2;
	if (x > COLS) {
		size_t wide = 0;

		for (size_t k = 1; k < nc; k++)
			wide = width[k] > width[wide] ? k : wide;
		width[wide] -= x - COLS;
		if (width[wide] < 4)
			width[wide] = 4;
	}
	/* the heads */
	x = 0;
	attron(A_REVERSE);
	mvhline(t->line, 0, ' ', COLS);
	for (size_t k = 0; k < nc && x < COLS; k++) {
		bool right = c[k].flags & OUT_RIGHT;

		if (col_sorted(t->o->sort, c[k].header, k))
			attron(A_BOLD | A_UNDERLINE);
		snprintf(b, sizeof(b), right ? "%*s" : "%-*s", width[k], c[k].header);
		mvaddnstr(t->line, x, b, COLS - x);
		attroff(A_BOLD | A_UNDERLINE);
		x += width[k] + 2;
	}
	attroff(A_REVERSE);
	t->line++;
	avail = LINES - 1 - t->line;
	if (t->first > (int)shown - avail)
		t->first = (int)shown - avail;
	if (t->first < 0)
		t->first = 0;
	for (int i = t->first; i < (int)shown && t->line < LINES - 1; i++) {
		x = 0;
		for (size_t k = 0; k < nc && x < COLS; k++) {
			bool right = c[k].flags & OUT_RIGHT;

			snprintf(b, sizeof(b), right ? "%*.*s" : "%-*.*s", width[k], width[k],
				 cells[i][k]);
			mvaddnstr(t->line, x, b, COLS - x);
			x += width[k] + 2;
		}
		t->line++;
	}
	if (!shown)
		mvaddnstr(t->line, 0, t->flen ? "(no row matches the filter)" : "(no sessions)", COLS);
	free(cells);
	/* the key line, or the filter being typed */
	attron(A_REVERSE);
	mvhline(LINES - 1, 0, ' ', COLS);
	if (t->editing)
		snprintf(b, sizeof(b), "filter: %s_  (Enter keeps it, Esc clears)", t->filter);
	else
		snprintf(b, sizeof(b), "q quit  g group  s/r/t/n sort (%s%s)  < > column  I invert  "
			 "space %s  / filter%s%s", sort_names[t->o->sort], t->reverse ? ", inverted" : "",
			 t->frozen ? "resume" : "freeze", t->flen ? ": " : "", t->filter);
	clean(b);
	mvaddnstr(LINES - 1, 0, b, COLS);
	attroff(A_REVERSE);
	if (t->frozen)
		mvaddnstr(0, COLS > 8 ? COLS - 8 : 0, "[frozen]", 8);
	refresh();
}

static void on_tick(struct ev_loop *l, struct ev_timer *tm)
{
	struct tui *t = container_of(tm, struct tui, tick);

	if (!t->frozen) {
		if ((t->r = sampler_take(t->s))) {
			ev_break(l);
			return;
		}
		t->interval++;
		draw(t);
		if (t->o->count && t->interval >= (unsigned)t->o->count) {
			ev_break(l);
			return;
		}
	}
	ev_timer_in(l, &t->tick, (int64_t)t->o->delay_ms * 1000, on_tick);
}

static void edit_key(struct tui *t, int ch)
{
	if (ch == '\n' || ch == KEY_ENTER || ch == '\r') {
		t->editing = false;
	} else if (ch == 27) {
		t->editing = false;
		t->flen = 0;
		t->filter[0] = '\0';
	} else if ((ch == KEY_BACKSPACE || ch == 127 || ch == 8) && t->flen) {
		t->filter[--t->flen] = '\0';
	} else if (ch >= 32 && ch < 127 && t->flen < FILTER_MAX) {
		t->filter[t->flen++] = (char)ch;
		t->filter[t->flen] = '\0';
	}
}

/* one key; false when it asks to quit */
static bool key(struct tui *t, int ch)
{
	if (t->editing) {
		edit_key(t, ch);
		return true;
	}
	switch (ch) {
	case 'q': case 'Q': case KEY_F(10): return false;
	case 'g': t->o->group = (enum top_group)((t->o->group + 1) % G_N); t->first = 0; break;
	case 'G': t->o->group = (enum top_group)((t->o->group + G_N - 1) % G_N); t->first = 0; break;
	case '1': case '2': case '3': case '4': t->o->group = (enum top_group)(ch - '1'); break;
	case 's': t->o->sort = S_TX; break;
	case 'r': t->o->sort = S_RX; break;
	case 't': t->o->sort = S_TOTAL; break;
	case 'n': t->o->sort = S_NAME; break;
	case 'c': t->o->sort = S_SESSIONS; break;
	case 'R': t->o->sort = S_RATE; break;
	case '>': case '.': t->o->sort = (enum top_sort)((t->o->sort + 1) % S_N); break;
	case '<': case ',': t->o->sort = (enum top_sort)((t->o->sort + S_N - 1) % S_N); break;
	case 'I': t->reverse = !t->reverse; break;
	case ' ': case 'Z': case 'p': t->frozen = !t->frozen; break;
	case '/': t->editing = true; break;
	case KEY_DOWN: t->first++; break;
	case KEY_UP: t->first--; break;
	case KEY_NPAGE: t->first += LINES / 2; break;
	case KEY_PPAGE: t->first -= LINES / 2; break;
	case KEY_HOME: t->first = 0; break;
	case 12: clearok(curscr, TRUE); break;	/* Ctrl-L */
	default: return true;	/* KEY_RESIZE and the rest: nothing to redraw */
	}
	draw(t);
	return true;
}

static void on_keys(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	struct tui *t = container_of(io, struct tui, keys);
	int ch;

	if (events & (EPOLLHUP | EPOLLERR)) {	/* the terminal went away */
		ev_io_del(l, io);
		t->keys_on = false;
		ev_break(l);
		return;
	}
	for (int i = 0; i < 256 && (ch = getch()) != ERR; i++)
		if (!key(t, ch)) {
			t->stopped = true;
			ev_break(l);
			return;
		}
}

/* SIGHUP: the terminal is gone (whatever its disposition was: a blocked
 * signal comes through the loop even when it was ignored) */
static void on_hup(struct ev_loop *l, int signo, void *arg)
{
	struct tui *t = arg;

	(void)signo;
	t->stopped = true;
	ev_break(l);
}

static void on_winch(struct ev_loop *l, int signo, void *arg)
{
	struct tui *t = arg;
	struct winsize ws;

	(void)l, (void)signo;
	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row && ws.ws_col)
		resizeterm(ws.ws_row, ws.ws_col);
	draw(t);
}

int top_tui(struct ev_loop *l, struct top_sampler *s, struct top_opts *o)
{
	struct tui t = { .loop = l, .s = s, .o = o };
	FILE *out;
	int r, fd;

	setlocale(LC_CTYPE, "");
	/* a terminal ncurses does not know: said before newterm(), whose
	 * failure leaves memory behind in the library */
	if (setupterm(NULL, STDOUT_FILENO, &r) != OK)
		return 1;
	del_curterm(cur_term);
	/* the terminal's own descriptors: portkit's stdout is a stream that
	 * keeps its write errors (cmd_stdout_init) and has no descriptor */
	if ((fd = dup(STDOUT_FILENO)) < 0 || !(out = fdopen(fd, "w"))) {
		if (fd >= 0)
			close(fd);
		return errorf(-errno, "cannot open the terminal: %s", strerror(errno));
	}
	if (!(t.scr = newterm(NULL, out, stdin))) {
		fclose(out);
		return 1;	/* a terminal ncurses does not know */
	}
	set_term(t.scr);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	if ((r = ev_stop_on_signals(l, &t.stopped)) ||
	    (r = ev_signal_add(l, SIGWINCH, on_winch, &t)) ||
	    (r = ev_signal_add(l, SIGHUP, on_hup, &t)) ||
	    (r = ev_io_add(l, &t.keys, STDIN_FILENO, EPOLLIN, on_keys))) {
		endwin();
		delscreen(t.scr);
		fclose(out);
		return errorf(r, "cannot run the full-screen view: %s", strerror(-r));
	}
	t.keys_on = true;
	draw(&t);
	ev_timer_at(l, &t.tick, sampler_time_us(s) + (int64_t)o->delay_ms * 1000, on_tick);
	r = ev_run(l);
	ev_timer_stop(l, &t.tick);
	if (t.keys_on)
		ev_io_del(l, &t.keys);
	endwin();
	delscreen(t.scr);
	fclose(out);
	if (r)
		return errorf(r, "event loop: %s", strerror(-r));
	return t.r;
}
