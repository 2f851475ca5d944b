"""What a boot loader does for Linux: initramfs, device-tree fix-ups, hand-over."""
