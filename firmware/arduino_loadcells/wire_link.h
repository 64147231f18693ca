// Protocol v1 framing (docs/protocol.md): frame encoder and command receiver.
#ifndef STANCELAB_WIRE_LINK_H
#define STANCELAB_WIRE_LINK_H

#include <stdint.h>

#define LINK_MAX_PAYLOAD 32
#define LINK_MAX_FRAME (4 + LINK_MAX_PAYLOAD + 2)

// Board -> host
#define T_SAMPLE 0x01
#define T_BOOT 0x02
#define T_IDENTITY 0x20
#define T_ACK 0x21
#define T_PONG 0x22
// Host -> board
#define C_IDENTIFY 0x10
#define C_START 0x11
#define C_STOP 0x12
#define C_SET_RATE 0x13
#define C_PING 0x14
#define C_SET_BOARD_ID 0x15
#define C_SET_PLOTTER 0x16

#define ACK_OK 0
#define ACK_BAD_ARGUMENT 1
#define ACK_UNKNOWN_COMMAND 2
#define ACK_BAD_LENGTH 3

#define ST_NOT_READY 0x1
#define ST_TIMED_OUT 0x2
#define ST_SATURATED 0x4

struct LinkCommand {
    uint8_t type;
    uint8_t length;
    uint8_t payload[LINK_MAX_PAYLOAD];
};

// Frame and send one message (sync, type, length, payload, CRC-16/CCITT-FALSE little-endian).
void link_send(uint8_t type, const uint8_t *payload, uint8_t length);
void link_send_ack(uint8_t command, uint8_t result);

// Little-endian field helpers for building payloads.
static inline uint8_t *put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    return p + 2;
}
static inline uint8_t *put_u32(uint8_t *p, uint32_t v)
{
    p = put_u16(p, (uint16_t)v);
    return put_u16(p, (uint16_t)(v >> 16));
}
static inline uint8_t *put_i24(uint8_t *p, int32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)((uint32_t)v >> 8);
    p[2] = (uint8_t)((uint32_t)v >> 16);
    return p + 3;
}
static inline uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

// Byte-at-a-time command receiver. A frame with a bad length or CRC costs only its first sync
// byte: the search restarts one byte later, as the host decoder does.
class LinkReceiver {
public:
    LinkReceiver() : n_(0), last_ms_(0) {}
    // Add one received byte; returns true and fills cmd when it completes a valid frame.
    bool push(uint8_t byte, uint32_t now_ms, LinkCommand &cmd);
    // Forget a partial frame that has stalled (wrap-safe on millis()).
    void expire(uint32_t now_ms, uint32_t stall_ms);

private:
    bool take(LinkCommand &cmd);
    void drop(uint8_t count);
    uint8_t buf_[LINK_MAX_FRAME];
    uint8_t n_;
    uint32_t last_ms_;
};

#endif
