from tfdp.cli import run

# Worker processes of a local cluster import the main module again: only
# the command itself may run the command
if __name__ == "__main__":
    run()
