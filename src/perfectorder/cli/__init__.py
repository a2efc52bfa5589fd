"""The command line: `perfectorder <noun> <verb>`."""
