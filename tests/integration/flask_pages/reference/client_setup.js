// Basic client setup with error handling
const socket = io('/', {
    transports: ['websocket', 'polling'],
    timeout: 20000,
    reconnection: true,
    reconnectionAttempts: 5,
    reconnectionDelay: 1000
});

// Connection event handlers
socket.on('connect', () => {
    console.log('WebSocket connected');
    joinUserRoom();
});

socket.on('disconnect', (reason) => {
    console.log('WebSocket disconnected:', reason);
    if (reason === 'io server disconnect') {
        // Server disconnected, manual reconnection needed
        socket.connect();
    }
});

socket.on('connect_error', (error) => {
    console.error('Connection error:', error);
    handleConnectionError(error);
});

// Join user-specific room
function joinUserRoom() {
    socket.emit('join_room', {
        room_name: `user_${currentUserId}_captions`,
        room_type: 'user_specific'
    });
}

// Handle caption progress updates
socket.on('caption_progress', (data) => {
    updateProgressBar(data.progress_percentage);
    updateCurrentPost(data.current_post_id);
    updateTimeRemaining(data.estimated_time_remaining);
});

// Handle errors
socket.on('error', (error) => {
    console.error('WebSocket error:', error);
    showErrorNotification(error.error_message);
    
    if (error.retry_possible) {
        setTimeout(() => {
            socket.connect();
        }, 5000);
    }
});
