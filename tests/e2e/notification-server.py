#!/usr/bin/env python3
"""A stand-in desktop notification server (org.freedesktop.Notifications) for the e2e
tests: it prints each notification it is sent as a JSON line, and clicks one when told
`click ID` on stdin, as a rep would (the ActionInvoked "default" signal)."""
import json
import sys

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"


class Server(dbus.service.Object):
    def __init__(self, bus):
        super().__init__(bus, PATH)
        self.next_id = 0

    @dbus.service.method(NAME, in_signature="susssasa{sv}i", out_signature="u")
    def Notify(self, app, replaces, icon, summary, body, actions, hints, timeout):
        if replaces == 0:
            self.next_id += 1
        nid = replaces or self.next_id
        print(json.dumps({"id": int(nid), "app": str(app), "replaces": int(replaces),
                          "summary": str(summary), "body": str(body),
                          "actions": [str(a) for a in actions]}), flush=True)
        return nid

    @dbus.service.method(NAME, in_signature="u")
    def CloseNotification(self, nid):
        self.NotificationClosed(nid, 3)

    @dbus.service.method(NAME, out_signature="as")
    def GetCapabilities(self):
        return ["actions", "body"]

    @dbus.service.method(NAME, out_signature="ssss")
    def GetServerInformation(self):
        return ("baton-e2e", "baton", "1", "1.2")

    @dbus.service.signal(NAME, signature="us")
    def ActionInvoked(self, nid, key):
        pass

    @dbus.service.signal(NAME, signature="uu")
    def NotificationClosed(self, nid, reason):
        pass


def main():
    DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    server = Server(bus)
    owned = bus.request_name(NAME, dbus.bus.NAME_FLAG_DO_NOT_QUEUE)
    if owned != dbus.bus.REQUEST_NAME_REPLY_PRIMARY_OWNER:
        sys.exit(f"{NAME} is already owned on this bus")
    print(json.dumps({"ready": True}), flush=True)

    def command(source, _condition):
        line = source.readline()
        if not line:
            loop.quit()
            return False
        verb, _, arg = line.strip().partition(" ")
        if verb == "click":
            server.ActionInvoked(int(arg), "default")
            server.NotificationClosed(int(arg), 2)
        return True

    loop = GLib.MainLoop()
    GLib.io_add_watch(sys.stdin, GLib.IO_IN | GLib.IO_HUP, command)
    loop.run()


if __name__ == "__main__":
    main()
