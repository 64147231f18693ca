"""`stancelab serve`: the board beside a Pi, served over the network (stancelab.station.serve).

On the Pi: ``stancelab serve --port /dev/ttyACM0 --listen 0.0.0.0:8765``; on the laptop any
command with ``--port socket://PI:8765``. Runs until Ctrl-C; every client that comes, goes or is
refused is one line on stderr.
"""

from __future__ import annotations

import socket
import sys

from stancelab.cli.errors import UserError
from stancelab.station.choice import DEFAULT_GPIO_PINS, BoardChoice, choose_board
from stancelab.station.serve import DEFAULT_PORT, BoardServer, parse_listen


def register(sub) -> None:
    sp = sub.add_parser("serve", help="serve the board over the network (protocol v1 on TCP) "
                                      "for `--port socket://HOST:PORT` on another computer")
    g = sp.add_mutually_exclusive_group(required=True)
    g.add_argument("--port", metavar="PORT", help="the board's serial port on this computer, "
                   "e.g. /dev/ttyACM0")
    g.add_argument("--simulate", action="store_true", help="serve the simulated board")
    g.add_argument("--gpio", nargs="?", const=DEFAULT_GPIO_PINS, metavar="DOUTS:SCK",
                   help="the HX711s on this Pi's pins (BCM numbers, default "
                        f"{DEFAULT_GPIO_PINS})")
    sp.add_argument("--listen", metavar="HOST:PORT", default=f"0.0.0.0:{DEFAULT_PORT}",
                    help=f"address to listen on (default 0.0.0.0:{DEFAULT_PORT}: every "
                         "interface; 127.0.0.1:PORT for this computer only)")
    sp.add_argument("--board-id", metavar="HEX", help="--gpio: the board id to announce "
                    "(default: from this computer's /etc/machine-id)")
    sp.add_argument("--seed", type=int, default=0, help="seed of the simulated athlete")
    sp.set_defaults(func=cmd_serve)


def _device(args):
    from stancelab.board.source import SourceError

    if args.simulate:
        from stancelab.sim.athlete import VirtualAthlete
        from stancelab.sim.virtual_board import VirtualBoard
        from stancelab.station.serve import VirtualDevice

        return VirtualDevice(VirtualBoard(VirtualAthlete(seed=args.seed), seed=args.seed))
    try:
        if args.gpio:
            from stancelab.station.serve import SourceDevice, machine_board_id

            board_id = machine_board_id() if args.board_id is None else _hex(args.board_id)
            return SourceDevice(choose_board(BoardChoice(gpio=args.gpio)).source, board_id)
        from stancelab.station.serve import SerialDevice

        return SerialDevice(args.port)
    except SourceError as e:
        raise UserError(str(e)) from None


def _hex(text: str) -> int:
    try:
        value = int(text, 16)
    except ValueError:
        value = -1
    if not 0 <= value < 1 << 32:
        raise UserError(f"--board-id {text!r}: give up to 8 hex digits, e.g. --board-id 5e1a0042")
    return value


def cmd_serve(args) -> int:
    try:
        host, port = parse_listen(args.listen)
    except ValueError as e:
        raise UserError(str(e)) from None
    device = _device(args)

    def tell(kind, **d):
        if kind == "client":
            print(f"{d['name']} connected; it drives the board now.", file=sys.stderr)
        elif kind == "gone":
            print(f"{d['name']} went ({d['why']}); the board is stopped and waits for the next "
                  "client.", file=sys.stderr)
        elif kind == "refused":
            print(f"{d['name']} refused: the board is in use by {d['holder']}.", file=sys.stderr)
        elif kind == "error":
            print(f"stancelab: error: {d['message']}", file=sys.stderr)

    try:
        server = BoardServer(device, host, port, on_event=tell)
    except OSError as e:
        device.close()
        raise UserError(f"cannot listen on {host}:{port} ({e.strerror or e}); choose another "
                        "port with --listen HOST:PORT, or stop the program using it") from None
    shown_host, shown_port = server.address
    here = socket.gethostname() if shown_host in ("0.0.0.0", "::") else shown_host
    print(f"Serving the {device.description} on {shown_host}:{shown_port}. On the laptop: "
          f"stancelab record --port socket://{here}:{shown_port}  (Ctrl-C stops)",
          file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("Stopped serving.", file=sys.stderr)
    return 0
