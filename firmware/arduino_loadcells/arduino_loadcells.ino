// StanceLab balance board firmware 1.1.0: four HX711 load-cell ADCs -> protocol v1 frames.
//
// Board: Arduino Uno / Nano (ATmega328P, 16 MHz). Wiring and timing: docs/firmware.md.
//
// Scheduling (everything non-blocking; loop() returns within one chip read, ~0.1 ms):
// - Frames are paced by the MCU crystal at the selected rate (80 or 10 per second), not by the
//   chips: each HX711 runs on its own RC oscillator (+-a few %), so chips never convert at
//   exactly the same instant or rate.
// - Each pass samples the four DOUT lines ONCE; liveness tracking, the conversion-period
//   estimate and the read decision all use that one sample, and the read itself reports which
//   chips were ready when its first pulse went out. (1.0.0 sampled twice: a chip that became
//   ready between the two samples was read without its liveness being noticed, and at 10 SPS a
//   healthy chip that was last to convert six times in a row was flagged TIMED_OUT and then
//   clocked while converting.)
// - Between two frames the firmware does at most ONE shared read, when every chip that is not
//   TIMED_OUT has DOUT low. Shared SCK means clocking one chip clocks all of them, so a chip
//   that is still converting must not be clocked; the wait is bounded by 1.25 x that chip's
//   measured conversion period (+2 ms), after which the read goes ahead without the late chip.
// - The next frame carries that read's values. A chip that was not part of it keeps its last
//   value with NOT_READY set; if no read happened at all, every channel is NOT_READY. Because a
//   read is never overwritten before it is sent, every value the chips shift out reaches the
//   host exactly once.
// - t_us is micros() at the start of the read (or the send time of a frame without a read).
#include <Arduino.h>
#include <avr/eeprom.h>
#include <avr/io.h>

#include "config.h"
#include "hx711_bus.h"
#include "wire_link.h"

static uint8_t g_rate_sps = DEFAULT_RATE_SPS;
static uint32_t g_period_us = 1000000UL / DEFAULT_RATE_SPS;
static bool g_streaming = false;
static bool g_plotter = STANCELAB_PLOTTER;
static uint16_t g_seq = 0;
static uint32_t g_last_tick_us = 0;
static uint32_t g_board_id = 0;
static uint8_t g_reset_cause = 0;

static int32_t g_counts[CHANNELS];
static uint8_t g_fresh = 0;          // chips whose reading in g_counts has not been sent yet
static bool g_pending = false;       // a read happened since the last frame
static uint32_t g_read_t_us = 0;     // micros() at the start of that read
static bool g_waiting = false;       // some chips ready, waiting for the rest
static uint32_t g_wait_start_us = 0;
static uint8_t g_timed_out = 0;      // chips whose DOUT has not been low for TIMEOUT_PERIODS
static uint8_t g_late = 0;           // chips left out of a read as late, until seen ready again
static uint8_t g_recover[CHANNELS];  // readings still to discard after a chip was clocked busy

// Per chip liveness and conversion period, from the one DOUT sample of each pass.
static uint8_t g_seen_ready = 0;     // DOUT was low in the previous pass (or at the last read)
static uint32_t g_last_low_us[CHANNELS];
static uint32_t g_edge_us[CHANNELS];   // when DOUT last went low (a conversion completed)
static uint32_t g_period_est_us[CHANNELS];
static uint8_t g_period_misses[CHANNELS];

static LinkReceiver g_rx;

static uint32_t load_board_id(void)
{
    if (eeprom_read_byte((const uint8_t *)EE_MAGIC_ADDR) != EE_MAGIC)
        return 0;
    return eeprom_read_dword((const uint32_t *)EE_BOARD_ID_ADDR);
}

static void store_board_id(uint32_t id)
{
    // Blocks ~15 ms (EEPROM write time); commands are rare and frame pacing catches up.
    eeprom_update_dword((uint32_t *)EE_BOARD_ID_ADDR, id);
    eeprom_update_byte((uint8_t *)EE_MAGIC_ADDR, EE_MAGIC);
}

// The chips' rate may change with the RATE pin: forget what was measured and start again from
// the slowest period an HX711 has (longer estimates only make the firmware wait longer).
static void reset_period_estimates(uint32_t now_us)
{
    for (uint8_t c = 0; c < CHANNELS; c++) {
        g_period_est_us[c] = PERIOD_MAX_US;
        g_period_misses[c] = 0;
        g_edge_us[c] = now_us;
        g_last_low_us[c] = now_us;
    }
    g_seen_ready = 0;
    g_late = 0;
}

static void set_rate(uint8_t rate_sps)
{
    g_rate_sps = rate_sps;
    g_period_us = 1000000UL / rate_sps;
    hx_set_rate_pin(rate_sps);
    g_last_tick_us = micros();
    reset_period_estimates(g_last_tick_us);
}

static void send_identity(void)
{
    uint8_t p[11];
    p[0] = PROTOCOL_VERSION;
    p[1] = FW_MAJOR;
    p[2] = FW_MINOR;
    p[3] = FW_PATCH;
    put_u32(p + 4, g_board_id);
    p[8] = CHANNELS;
    p[9] = g_rate_sps;
    p[10] = g_streaming ? 1 : 0;
    link_send(T_IDENTITY, p, sizeof p);
}

static void handle_command(const LinkCommand &cmd)
{
    const uint8_t t = cmd.type;
    const uint8_t n = cmd.length;
    switch (t) {
    case C_IDENTIFY:
        if (n != 0)
            return link_send_ack(t, ACK_BAD_LENGTH);
        return send_identity();
    case C_START:
        if (n != 0)
            return link_send_ack(t, ACK_BAD_LENGTH);
        link_send_ack(t, ACK_OK);
        g_seq = 0;
        g_pending = false;
        g_fresh = 0;
        g_waiting = false;
        g_streaming = true;
        g_last_tick_us = micros();
        return;
    case C_STOP:
        if (n != 0)
            return link_send_ack(t, ACK_BAD_LENGTH);
        g_streaming = false;  // before the ACK: no SAMPLE follows it
        g_pending = false;
        return link_send_ack(t, ACK_OK);
    case C_SET_RATE:
        if (n != 1)
            return link_send_ack(t, ACK_BAD_LENGTH);
        if (cmd.payload[0] != 10 && cmd.payload[0] != 80)
            return link_send_ack(t, ACK_BAD_ARGUMENT);
        set_rate(cmd.payload[0]);
        return link_send_ack(t, ACK_OK);
    case C_PING: {
        if (n != 4)
            return link_send_ack(t, ACK_BAD_LENGTH);
        uint8_t p[8];
        memcpy(p, cmd.payload, 4);
        put_u32(p + 4, micros());
        return link_send(T_PONG, p, sizeof p);
    }
    case C_SET_BOARD_ID:
        if (n != 4)
            return link_send_ack(t, ACK_BAD_LENGTH);
        g_board_id = get_u32(cmd.payload);
        store_board_id(g_board_id);
        return link_send_ack(t, ACK_OK);
    case C_SET_PLOTTER:
        if (n != 1)
            return link_send_ack(t, ACK_BAD_LENGTH);
        link_send_ack(t, ACK_OK);
        if (cmd.payload[0]) {  // text from now on, until reset
            g_plotter = true;
            g_streaming = false;
            g_pending = false;
            g_last_tick_us = micros();
        }
        return;
    default:
        return link_send_ack(t, ACK_UNKNOWN_COMMAND);
    }
}

static void service_serial(void)
{
    if (g_plotter) {  // plotter mode ignores input: frames and text never mix
        while (Serial.available() > 0)
            (void)Serial.read();
        return;
    }
    uint32_t now_ms = millis();
    LinkCommand cmd;
    while (Serial.available() > 0) {
        if (g_rx.push((uint8_t)Serial.read(), now_ms, cmd)) {
            handle_command(cmd);
            if (g_plotter)
                return;
        }
    }
    g_rx.expire(now_ms, RX_STALL_MS);
}

// A conversion of chip c completed at about now_us (its DOUT was seen going low): update the
// period estimate. Intervals longer than 1.5 estimates are conversions the firmware did not see
// (an unread word is replaced without DOUT rising) and are ignored, unless they keep coming:
// then the chip really is slower (RATE changed under us) and the estimate follows it.
static void conversion_seen(uint8_t c, uint32_t now_us)
{
    uint32_t interval = now_us - g_edge_us[c];
    g_edge_us[c] = now_us;
    uint32_t est = g_period_est_us[c];
    if (interval < PERIOD_MIN_US)
        return;
    if (interval <= est + est / 2) {
        g_period_est_us[c] = est - est / 4 + interval / 4;  // EMA, weight 1/4
        g_period_misses[c] = 0;
    } else if (++g_period_misses[c] >= 3) {
        g_period_est_us[c] = interval < PERIOD_MAX_US ? interval : PERIOD_MAX_US;
        g_period_misses[c] = 0;
    }
}

// Liveness from one DOUT sample: a live chip pulls DOUT low at least once per conversion period.
static void track_chips(uint8_t ready, uint32_t now_us)
{
    for (uint8_t c = 0; c < CHANNELS; c++) {
        uint8_t bit = (uint8_t)(1U << c);
        if (ready & bit) {
            if (!(g_seen_ready & bit))
                conversion_seen(c, now_us);
            g_last_low_us[c] = now_us;
            g_timed_out &= (uint8_t)~bit;
            g_late &= (uint8_t)~bit;
        } else if ((uint32_t)(now_us - g_last_low_us[c]) >= TIMEOUT_PERIODS * g_period_est_us[c]) {
            g_timed_out |= bit;  // never cleared by time, only by DOUT low: micros() may wrap
        }
    }
    g_seen_ready = ready;
}

static void read_chips(uint8_t planned)
{
    int32_t v[CHANNELS];
    g_read_t_us = micros();
    // `ready`: the chips whose DOUT was low just before the first pulse. It holds every planned
    // chip (DOUT stays low until read) and any that finished converting since the pass began.
    uint8_t ready = hx_read_all(v);
    for (uint8_t c = 0; c < CHANNELS; c++) {
        uint8_t bit = (uint8_t)(1U << c);
        if (!(ready & bit)) {
            g_recover[c] = RECOVER_READS;  // clocked while busy: its bit stream is suspect
            continue;
        }
        // Seen low by the read: alive, whether or not this pass's sample caught it.
        if (!(planned & bit) && !(g_seen_ready & bit))
            conversion_seen(c, g_read_t_us);
        g_last_low_us[c] = g_read_t_us;
        g_timed_out &= (uint8_t)~bit;
        g_late &= (uint8_t)~bit;
        if (g_recover[c]) {
            g_recover[c]--;
        } else {
            g_counts[c] = v[c];
            g_fresh |= bit;
        }
    }
    g_seen_ready = 0;  // the read pulled every ready chip's DOUT high
    g_pending = true;
}

// How long to wait for the chips in `late` once another chip is ready: a live chip converts
// within one of its periods from any instant, so 1.25 periods (+2 ms for the loop) is safe.
static uint32_t late_limit_us(uint8_t late)
{
    uint32_t longest = 0;
    for (uint8_t c = 0; c < CHANNELS; c++)
        if ((late & (1U << c)) && g_period_est_us[c] > longest)
            longest = g_period_est_us[c];
    return longest + longest / 4 + LATE_MARGIN_US;
}

static void try_read(uint8_t ready, uint32_t now_us)
{
#ifdef FAULT_NO_TIMEOUT
    // BROKEN ON PURPOSE (emulator negative check): waits for all four chips with no timeout,
    // like a naive sketch. A dead chip hangs the board here.
    (void)ready;
    (void)now_us;
    (void)g_wait_start_us;
    (void)late_limit_us;
    while (hx_ready_mask() != 0x0F) {
    }
    read_chips(0x0F);
#else
    // A chip once left out as late is not waited for again until its DOUT is seen low: a dying
    // chip costs the others one late wait, not one per read until it is flagged TIMED_OUT.
    uint8_t expected = (uint8_t)(~(g_timed_out | g_late) & 0x0F);
    if (!ready) {
        g_waiting = false;
        return;
    }
    uint8_t late = (uint8_t)(expected & ~ready);
    if (late) {
        if (!g_waiting) {
            g_waiting = true;
            g_wait_start_us = now_us;
            return;
        }
        if ((uint32_t)(now_us - g_wait_start_us) < late_limit_us(late))
            return;
        g_late |= late;
    }
    g_waiting = false;
    read_chips(ready);
#endif
}

static void print_plotter_line(void)
{
    static const char *const names[CHANNELS] = {"fl:", " fr:", " bl:", " br:"};
    for (uint8_t c = 0; c < CHANNELS; c++) {
        Serial.print(names[c]);
        Serial.print((long)g_counts[c]);
    }
    Serial.print("\r\n");
}

static void emit_frame(uint32_t now_us)
{
    if (g_plotter) {
        print_plotter_line();
    } else {
        uint16_t status = 0;
        for (uint8_t c = 0; c < CHANNELS; c++) {
            uint8_t bit = (uint8_t)(1U << c);
            uint8_t st = 0;
            if (!(g_fresh & bit))
                st |= ST_NOT_READY;
            if (g_timed_out & bit)
                st |= ST_TIMED_OUT;
            if (g_counts[c] >= HX_COUNT_MAX || g_counts[c] <= HX_COUNT_MIN)
                st |= ST_SATURATED;
            status |= (uint16_t)st << (4 * c);
        }
        uint8_t p[20];
        uint8_t *w = put_u16(p, g_seq++);
        w = put_u32(w, g_pending ? g_read_t_us : now_us);
        for (uint8_t c = 0; c < CHANNELS; c++)
            w = put_i24(w, g_counts[c]);
        put_u16(w, status);
        link_send(T_SAMPLE, p, sizeof p);
    }
    g_pending = false;
    g_fresh = 0;
}

void setup()
{
    g_reset_cause = MCUSR;  // optiboot may already have cleared it on a real Uno
    MCUSR = 0;
    hx_begin(g_rate_sps);
    Serial.begin(SERIAL_BAUD);
    g_board_id = load_board_id();
    g_last_tick_us = micros();
    reset_period_estimates(g_last_tick_us);
    if (!g_plotter) {
        // A reset can cut a frame mid-way. A host decoder holding that partial frame would
        // take the next bytes as its missing tail and, the board being idle until START, wait
        // forever with BOOT inside it. LINK_MAX_FRAME zero bytes complete any partial frame (it
        // then fails its CRC and is skipped) so the BOOT after them is always seen.
        for (uint8_t i = 0; i < LINK_MAX_FRAME; i++)
            Serial.write((uint8_t)0);
        uint8_t p[6];
        p[0] = PROTOCOL_VERSION;
        p[1] = g_reset_cause;
        put_u32(p + 2, g_board_id);
        link_send(T_BOOT, p, sizeof p);
    }
}

void loop()
{
    service_serial();
    uint32_t now_us = micros();
    uint8_t ready = hx_ready_mask();  // the one DOUT sample of this pass
    track_chips(ready, now_us);
    if (!g_streaming && !g_plotter)
        return;
    if (!g_pending)
        try_read(ready, now_us);
    now_us = micros();
    if ((uint32_t)(now_us - g_last_tick_us) >= g_period_us) {
        g_last_tick_us += g_period_us;
        // Fell more than a period behind (EEPROM write): resume pacing from now, no burst.
        if ((uint32_t)(now_us - g_last_tick_us) >= g_period_us)
            g_last_tick_us = now_us;
        emit_frame(now_us);
    }
}
