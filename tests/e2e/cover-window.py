#!/usr/bin/env python3
"""Another application's window, for the e2e tests: it opens over the whole screen (on
top of Baton's window: with no window manager, the newest window is on top) and prints
a JSON line each time the X server says how much of it can be seen, so a test can tell
whether Baton's window was brought forward over it. Exits when stdin closes."""
import json
import sys

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk, GLib, Gtk  # noqa: E402

STATES = {
    Gdk.VisibilityState.UNOBSCURED: "unobscured",
    Gdk.VisibilityState.PARTIAL: "partial",
    Gdk.VisibilityState.FULLY_OBSCURED: "obscured",
}


def say(**what):
    print(json.dumps(what), flush=True)


def main():
    window = Gtk.Window(title="another application")
    screen = Gdk.Display.get_default().get_monitor(0).get_geometry()
    window.set_default_size(screen.width, screen.height)
    window.move(0, 0)
    window.add_events(Gdk.EventMask.VISIBILITY_NOTIFY_MASK)
    window.connect("visibility-notify-event", lambda _w, e: say(visibility=STATES.get(e.state, str(e.state))))
    window.connect("map-event", lambda *_: say(mapped=True))
    window.show_all()

    def stdin_closed(*_):
        Gtk.main_quit()
        return False

    GLib.io_add_watch(sys.stdin, GLib.IO_HUP | GLib.IO_IN, stdin_closed)
    Gtk.main()


if __name__ == "__main__":
    main()
