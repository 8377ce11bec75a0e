socket.on('caption_generation_started', (data) => {
    console.log(`Caption generation started for ${data.total_posts} posts`);
    showProgressBar(data.estimated_duration);
});
socket.on('caption_progress', (data) => {
    updateProgressBar(data.progress_percentage);
    updateCurrentPost(data.current_post_id, data.current_post_url);
    updateTimeRemaining(data.estimated_time_remaining);
});
socket.on('caption_generated', (data) => {
    addCaptionToReviewQueue(data.post_id, data.caption, data.confidence_score);
    showNotification(`Caption generated for post ${data.post_id}`);
});
socket.on('caption_generation_completed', (data) => {
    hideProgressBar();
    showCompletionSummary(data);
    refreshCaptionReviewPage();
});
socket.on('caption_generation_error', (data) => {
    showErrorNotification(data.error_message);
    if (data.retry_possible) {
        showRetryOption(data.post_id);
    }
});
