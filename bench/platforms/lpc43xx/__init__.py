"""Peripheral models specific to the NXP LPC43xx family."""
