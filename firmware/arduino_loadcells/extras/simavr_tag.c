/* Tags the ELF with MCU and clock for simavr (section .mmcu, ignored by the chip). Built by the
 * Makefile only, never by the Arduino IDE (which does not compile this folder). It must stay a
 * C file compiled without -flto: the macro does not compile as C++ and LTO drops the section. */
#include <avr_mcu_section.h>

AVR_MCU(F_CPU, "atmega328p");
