"""The Socket.IO transport: python-socketio on aiohttp, through its public seams where it has them."""
