print("husk")
