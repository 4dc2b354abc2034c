"""Framing a P1 byte stream into telegrams, with a bound on what a peer can make us hold.

dsmr_parser's `TelegramBuffer` finds `/...!CRC\r\n` telegrams in a growing string; this subclass
hands back what it discards (so it can be counted) and never grows without bound.
"""

from __future__ import annotations

from dsmr_parser.clients.telegram_buffer import TelegramBuffer

MAX_BUFFER_CHARS = 16 * 1024  # a Fluvius telegram with 13 months of peaks is about 1.5 KB


class BoundedTelegramBuffer(TelegramBuffer):
    """dsmr_parser's TelegramBuffer that hands back what it discards and never grows unbounded.

    The library keeps everything it received in `self._buffer` (a str) until a telegram
    `/...!CRC\\r\\n` completes, and silently drops what precedes a telegram. Here every dropped
    piece is kept in `discarded` (so it can be counted), and after each extraction `trim` drops
    what can never become part of a telegram: text before the last `/` (a telegram cannot contain
    `/`) and a pending telegram longer than `max_chars`.
    """

    def __init__(self, max_chars: int = MAX_BUFFER_CHARS) -> None:
        super().__init__()
        self.max_chars = max_chars
        self.discarded: list[str] = []
        self.oversized = 0

    def _remove(self, telegram: str) -> None:
        index = self._buffer.index(telegram)
        if index:
            self.discarded.append(self._buffer[:index])
        self._buffer = self._buffer[index + len(telegram) :]

    def trim(self) -> None:
        buffer = self._buffer
        last = buffer.rfind("/")
        if last == -1:
            if buffer:
                self.discarded.append(buffer)
            buffer = ""
        elif last > 0:
            self.discarded.append(buffer[:last])
            buffer = buffer[last:]
        if len(buffer) > self.max_chars:
            self.oversized += 1
            buffer = ""
        self._buffer = buffer

    def flush(self) -> None:
        """End of stream: what is left can never complete."""
        if self._buffer:
            self.discarded.append(self._buffer)
        self._buffer = ""

    @property
    def size(self) -> int:
        return len(self._buffer)
