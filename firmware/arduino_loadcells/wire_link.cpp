// Protocol v1 framing: CRC-16/CCITT-FALSE = avr-libc _crc_xmodem_update started at 0xFFFF.
#include <Arduino.h>
#include <string.h>
#include <util/crc16.h>

#include "wire_link.h"

static const uint8_t SYNC0 = 0xA5;
static const uint8_t SYNC1 = 0x5A;

void link_send(uint8_t type, const uint8_t *payload, uint8_t length)
{
    uint8_t frame[LINK_MAX_FRAME];
    if (length > LINK_MAX_PAYLOAD)
        return;
    frame[0] = SYNC0;
    frame[1] = SYNC1;
    frame[2] = type;
    frame[3] = length;
    memcpy(frame + 4, payload, length);
    uint16_t crc = 0xFFFF;
    for (uint8_t i = 2; i < 4 + length; i++)
        crc = _crc_xmodem_update(crc, frame[i]);
    frame[4 + length] = (uint8_t)crc;
    frame[5 + length] = (uint8_t)(crc >> 8);
    Serial.write(frame, (size_t)(6 + length));
}

void link_send_ack(uint8_t command, uint8_t result)
{
    uint8_t p[2] = {command, result};
    link_send(T_ACK, p, 2);
}

void LinkReceiver::drop(uint8_t count)
{
    if (count >= n_) {
        n_ = 0;
        return;
    }
    memmove(buf_, buf_ + count, (size_t)(n_ - count));
    n_ = (uint8_t)(n_ - count);
}

bool LinkReceiver::take(LinkCommand &cmd)
{
    for (;;) {
        uint8_t i = 0;  // skip to the next sync pattern (or a trailing first sync byte)
        while (i < n_ && !(buf_[i] == SYNC0 && (i + 1 == n_ || buf_[i + 1] == SYNC1)))
            i++;
        drop(i);
        if (n_ < 4)
            return false;
        uint8_t length = buf_[3];
        if (length > LINK_MAX_PAYLOAD) {
            drop(1);
            continue;
        }
        uint8_t total = (uint8_t)(6 + length);
        if (n_ < total)
            return false;
        uint16_t crc = 0xFFFF;
        for (uint8_t k = 2; k < 4 + length; k++)
            crc = _crc_xmodem_update(crc, buf_[k]);
        if ((uint8_t)crc != buf_[4 + length] || (uint8_t)(crc >> 8) != buf_[5 + length]) {
            drop(1);
            continue;
        }
        cmd.type = buf_[2];
        cmd.length = length;
        memcpy(cmd.payload, buf_ + 4, length);
        drop(total);
        return true;
    }
}

bool LinkReceiver::push(uint8_t byte, uint32_t now_ms, LinkCommand &cmd)
{
    last_ms_ = now_ms;
    if (n_ >= LINK_MAX_FRAME)
        drop(1);  // cannot happen after take(); keeps the buffer bounded regardless
    buf_[n_++] = byte;
    return take(cmd);
}

void LinkReceiver::expire(uint32_t now_ms, uint32_t stall_ms)
{
    if (n_ && (uint32_t)(now_ms - last_ms_) >= stall_ms)
        n_ = 0;
}
