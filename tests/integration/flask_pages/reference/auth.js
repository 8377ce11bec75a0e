// Authentication is automatic if user is logged in
const socket = io();

// Check authentication status
socket.on('connect', () => {
    console.log('Connected and authenticated');
});

socket.on('auth_error', (data) => {
    console.error('Authentication failed:', data.message);
    // Redirect to login page
    window.location.href = '/login';
});
