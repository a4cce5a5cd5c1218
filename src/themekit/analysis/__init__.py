"""What a study reports: shares and intervals, evaluation against gold, agreement, reports."""
