// Test WebSocket connection
function testWebSocketConnection() {
    const testSocket = io('/', { forceNew: true });
    
    testSocket.on('connect', () => {
        console.log('✅ WebSocket connection successful');
        testSocket.disconnect();
    });
    
    testSocket.on('connect_error', (error) => {
        console.error('❌ WebSocket connection failed:', error);
    });
}

// Test authentication
function testWebSocketAuth() {
    const authSocket = io('/', { forceNew: true });
    
    authSocket.on('auth_required', () => {
        console.log('✅ Authentication required (expected)');
    });
    
    authSocket.on('connect', () => {
        console.log('✅ Authenticated connection successful');
    });
}
