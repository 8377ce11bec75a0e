// Admin client with additional event handlers
const adminSocket = io('/admin', {
    transports: ['websocket', 'polling']
});

// System status monitoring
adminSocket.on('system_status_update', (data) => {
    updateSystemStatusDashboard(data);
});

// Critical alerts
adminSocket.on('admin_alert', (data) => {
    if (data.severity === 'critical') {
        showCriticalAlert(data);
        playAlertSound();
    }
});

// User activity monitoring
adminSocket.on('user_activity_update', (data) => {
    updateUserActivityLog(data);
});
